# xxHash as the imported target dedup::xxhash: its header only (dedup inlines XXH3, nothing is
# linked). One file for the build and for the installed dedupConfig.cmake, so that the include
# directory a consumer needs is found the same way in both.
if(NOT TARGET dedup::xxhash)
  find_path(DEDUP_XXHASH_INCLUDE_DIR xxhash.h)
  if(DEDUP_XXHASH_INCLUDE_DIR)
    add_library(dedup::xxhash INTERFACE IMPORTED)
    set_target_properties(dedup::xxhash PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${DEDUP_XXHASH_INCLUDE_DIR}")
  endif()
endif()
