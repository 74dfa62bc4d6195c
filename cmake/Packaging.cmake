# Installation extras and the Debian package:
#   * shell completions for bash, zsh and fish, in the places those shells look;
#   * the AppArmor profile that grants the launcher user namespaces on Ubuntu 23.10+;
#   * `cpack -G DEB`: sandbox_<version>_<arch>.deb (configure with -DCMAKE_INSTALL_PREFIX=/usr).

# --- Shell completions --------------------------------------------------------------------
install(FILES ${PROJECT_SOURCE_DIR}/completions/sandbox.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME sandbox)
install(FILES ${PROJECT_SOURCE_DIR}/completions/_sandbox
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${PROJECT_SOURCE_DIR}/completions/sandbox.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

# --- AppArmor -------------------------------------------------------------------------------
# The profile grants the installed launcher user namespaces (Ubuntu 23.10+); it is written at
# install time from this install's prefix, see packaging/apparmor/install.cmake.
install(CODE "
  set(SANDBOX_APPARMOR_TEMPLATE \"${PROJECT_SOURCE_DIR}/packaging/apparmor/sandbox.in\")
  set(SANDBOX_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(SANDBOX_LIBEXECDIR \"${CMAKE_INSTALL_LIBEXECDIR}\")
  set(SANDBOX_APPARMOR_STAGED \"${CMAKE_BINARY_DIR}/packaging/apparmor/sandbox\")")
install(SCRIPT ${PROJECT_SOURCE_DIR}/packaging/apparmor/install.cmake)

# The programs the package holds, to build them alone: `cmake --build B --target sandbox_programs`
# then `cpack -G DEB` (with -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON, cpack builds nothing else).
add_custom_target(sandbox_programs)
foreach(t sandbox sandbox-desktop sandbox-net)
  if(TARGET ${t})
    add_dependencies(sandbox_programs ${t})
  endif()
endforeach()

# --- Debian package (cpack -G DEB) --------------------------------------------------------
set(SANDBOX_DEB_MAINTAINER "sandbox maintainers <maintainers@users.noreply.r-seed-e9c6c746.example>"
    CACHE STRING "Maintainer field of the .deb")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sandbox)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${SANDBOX_DEB_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "setuid-free application sandbox using unprivileged user namespaces")
# Absolute destinations (/etc/apparmor.d) go into the package through DESTDIR.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # sandbox_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SANDBOX_DEB_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The synopsis is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the long description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "sandbox runs a program in fresh user, mount, pid, ipc, uts, cgroup and
network namespaces, described by a YAML profile: the system read-only, a copy-on-write
view of the home with secrets hidden, no capabilities, a seccomp filter, optional network
filtering and resource limits. No setuid bit and no daemon: unprivileged user namespaces
do the work.
.
Recommended helpers: xdg-dbus-proxy (filtered D-Bus), passt (filtered network) and
fuse-overlayfs (the copy-on-write home where the kernel refuses overlayfs).")
# dpkg-shlibdeps derives Depends from the binaries: libc6 for sandbox, libglib2.0-0 for
# sandbox-desktop, libnftables1 for sandbox-net.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "xdg-dbus-proxy, passt, fuse-overlayfs")
# apparmor: the profile matters only where AppArmor 4 restricts user namespaces (Ubuntu);
# systemd: cgroup limits through a user scope.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "apparmor, bash-completion, systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# A package installs into /usr, never /usr/local (Debian policy 9.1.2); the launcher finds
# its profiles and helpers relative to itself (<exe>/../share/sandbox, ../libexec/sandbox).
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/packaging/CPackProjectConfig.cmake)
file(WRITE ${CPACK_PROJECT_CONFIG_FILE} "
if(CPACK_GENERATOR STREQUAL \"DEB\" AND NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL \"/usr\")
  message(FATAL_ERROR \"a .deb installs into /usr: configure with -DCMAKE_INSTALL_PREFIX=/usr \"
                      \"(this build has \${CPACK_PACKAGING_INSTALL_PREFIX})\")
endif()
")
include(CPack)
