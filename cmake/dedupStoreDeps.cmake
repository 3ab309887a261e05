# LMDB and hiredis as the imported targets dedup::lmdb and dedup::hiredis, the private
# dependencies of the compiled parts (neither ships a CMake package with targets on every
# distribution: Debian's LMDB has none, its hiredis 0.14 one without targets). One file for the
# build and for the installed dedupConfig.cmake: a consumer of the static dedup::store links both,
# one of the static dedup::cache links hiredis (its remote tier).
# Set dedup_deps_for to the parts wanted (cache, store) before including it; it sets
# dedup_cache_missing and dedup_store_missing to what those parts lack (empty when nothing).

# Imports dedup::<name> from <header> and lib<library>, unless it exists; when they are not found,
# appends <hint> to the list <missing>.
function(dedup_import_library name header library hint missing)
  if(TARGET dedup::${name})
    return()
  endif()
  string(TOUPPER "${name}" upper)
  find_path(DEDUP_${upper}_INCLUDE_DIR ${header})
  find_library(DEDUP_${upper}_LIBRARY ${library})
  if(DEDUP_${upper}_INCLUDE_DIR AND DEDUP_${upper}_LIBRARY)
    add_library(dedup::${name} UNKNOWN IMPORTED)
    set_target_properties(dedup::${name} PROPERTIES IMPORTED_LOCATION "${DEDUP_${upper}_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${DEDUP_${upper}_INCLUDE_DIR}")
  else()
    list(APPEND ${missing} "${hint}")
    set(${missing} "${${missing}}" PARENT_SCOPE)
  endif()
endfunction()

set(dedup_cache_missing "")
set(dedup_store_missing "")
if("store" IN_LIST dedup_deps_for)
  dedup_import_library(lmdb lmdb.h lmdb "LMDB (Debian: liblmdb-dev)" dedup_store_missing)
  dedup_import_library(hiredis hiredis/hiredis.h hiredis "hiredis (Debian: libhiredis-dev)"
    dedup_store_missing)
endif()
if("cache" IN_LIST dedup_deps_for)
  dedup_import_library(hiredis hiredis/hiredis.h hiredis "hiredis (Debian: libhiredis-dev)"
    dedup_cache_missing)
endif()
list(JOIN dedup_cache_missing " and " dedup_cache_missing)
list(JOIN dedup_store_missing " and " dedup_store_missing)
