# Install rules and the package that find_package(dedup [COMPONENTS ...]) loads from a prefix
# (docs/cmake.md). One export set per component, so that dedupConfig.cmake loads, and finds the
# dependencies of, only the components a consumer asks for.
install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/dedup/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dedup)
# dedupTargets.cmake: dedup::dedup; dedup<Part>Targets.cmake: dedup::<part>.
set(dedup_export_sets dedupCoreTargets:dedup_core dedupNlohmannTargets:dedup_nlohmann
  dedupSimdjsonTargets:dedup_simdjson dedupTargets:dedup)
if(DEDUP_CACHE)
  list(APPEND dedup_export_sets dedupCacheTargets:dedup_disk_cache)
endif()
if(DEDUP_STORE)
  list(APPEND dedup_export_sets dedupStoreTargets:dedup_store)
endif()
if(DEDUP_CACHE OR DEDUP_STORE)
  install(FILES cmake/dedupStoreDeps.cmake DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dedup)
endif()
foreach(pair IN LISTS dedup_export_sets)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 set)
  list(GET pair 1 target)
  install(TARGETS ${target} EXPORT ${set})
  install(EXPORT ${set} NAMESPACE dedup:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dedup)
endforeach()
if(DEDUP_CLI)
  install(TARGETS dedup_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
configure_package_config_file(cmake/dedupConfig.cmake.in
  ${PROJECT_BINARY_DIR}/dedupConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dedup)
# Header-only, the package suits any architecture; with a compiled library, only the build's.
set(dedup_arch_independent ARCH_INDEPENDENT)
if(DEDUP_CACHE OR DEDUP_STORE)
  set(dedup_arch_independent "")
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dedupConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ${dedup_arch_independent})
install(FILES ${PROJECT_BINARY_DIR}/dedupConfig.cmake ${PROJECT_BINARY_DIR}/dedupConfigVersion.cmake
  cmake/dedupXxhash.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dedup)
