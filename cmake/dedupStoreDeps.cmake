# LMDB and hiredis as the imported targets dedup::lmdb and dedup::hiredis, the shared store's
# private dependencies (neither ships a CMake package with targets on every distribution: Debian's
# LMDB has none, its hiredis 0.14 one without targets). One file for the build and for the
# installed dedupConfig.cmake: a consumer of the static dedup::store links both. Sets
# dedup_store_missing to what was not found (empty when both were).
set(dedup_store_missing "")
if(NOT TARGET dedup::lmdb)
  find_path(DEDUP_LMDB_INCLUDE_DIR lmdb.h)
  find_library(DEDUP_LMDB_LIBRARY lmdb)
  if(DEDUP_LMDB_INCLUDE_DIR AND DEDUP_LMDB_LIBRARY)
    add_library(dedup::lmdb UNKNOWN IMPORTED)
    set_target_properties(dedup::lmdb PROPERTIES IMPORTED_LOCATION "${DEDUP_LMDB_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${DEDUP_LMDB_INCLUDE_DIR}")
  else()
    list(APPEND dedup_store_missing "LMDB (Debian: liblmdb-dev)")
  endif()
endif()
if(NOT TARGET dedup::hiredis)
  find_path(DEDUP_HIREDIS_INCLUDE_DIR hiredis/hiredis.h)
  find_library(DEDUP_HIREDIS_LIBRARY hiredis)
  if(DEDUP_HIREDIS_INCLUDE_DIR AND DEDUP_HIREDIS_LIBRARY)
    add_library(dedup::hiredis UNKNOWN IMPORTED)
    set_target_properties(dedup::hiredis PROPERTIES IMPORTED_LOCATION "${DEDUP_HIREDIS_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${DEDUP_HIREDIS_INCLUDE_DIR}")
  else()
    list(APPEND dedup_store_missing "hiredis (Debian: libhiredis-dev)")
  endif()
endif()
list(JOIN dedup_store_missing " and " dedup_store_missing)
