# `cmake --install BUILD --prefix P` puts in P:
#   include/glasstcp/*.h                   the public headers
#   lib/libglasstcp.a                      static
#   lib/libglasstcp.so.0.1.0, .so.0, .so   shared (SONAME libglasstcp.so.0)
#   lib/pkgconfig/glasstcp.pc              pkg-config --cflags --libs [--static] glasstcp
#   lib/cmake/glasstcp/                    find_package(glasstcp): glasstcp::glasstcp
#                                          (shared), glasstcp::glasstcp_static
#   bin/glasstcp                           the CLI (GT_TOOLS=ON)
# (lib is CMAKE_INSTALL_LIBDIR: lib/x86_64-linux-gnu under the prefix /usr.)
# tests/cli/install_check.sh builds programs against such a tree both ways.
include(CMakePackageConfigHelpers)

install(TARGETS glasstcp glasstcp_shared EXPORT glasstcpTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/glasstcp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
if(GT_TOOLS)
  install(TARGETS glasstcp_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# CMake package: targets, config, version (same major and minor: 0.x breaks).
set(GT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/glasstcp)
install(EXPORT glasstcpTargets NAMESPACE glasstcp:: DESTINATION ${GT_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/glasstcpConfig.cmake.in
  ${PROJECT_BINARY_DIR}/glasstcpConfig.cmake INSTALL_DESTINATION ${GT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/glasstcpConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/glasstcpConfig.cmake
              ${PROJECT_BINARY_DIR}/glasstcpConfigVersion.cmake DESTINATION ${GT_CMAKE_DIR})

# pkg-config: relocatable (prefix found from the .pc file's own place), so
# that `cmake --install --prefix` anywhere gives a working file.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "glasstcp.pc: CMAKE_INSTALL_LIBDIR and CMAKE_INSTALL_INCLUDEDIR must be relative")
endif()
file(RELATIVE_PATH GT_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" GT_PC_TO_PREFIX "${GT_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/glasstcp.pc.in ${PROJECT_BINARY_DIR}/glasstcp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/glasstcp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
