# Run by `cmake --install` and cpack (cmake/Packaging.cmake sets SANDBOX_APPARMOR_TEMPLATE,
# SANDBOX_APPARMOR_STAGED, SANDBOX_BINDIR and SANDBOX_LIBEXECDIR first). The profile names the installed binary, so it
# is written here, from the prefix of this very install (`--prefix` and cpack included).
#
# It goes to /etc/apparmor.d whatever the prefix: the one place AppArmor reads. A staged
# install (DESTDIR: cpack, distribution builds) always gets it; a direct one only where
# AppArmor itself is installed (passt alone creates /etc/apparmor.d) and new enough for the
# `userns` rule (AppArmor 4, abi 4.0): an older parser would refuse the file at every boot,
# and older releases do not restrict user namespaces anyway.
set(_destdir "$ENV{DESTDIR}")
if(NOT _destdir)
  set(_skip "")
  if(NOT EXISTS "/etc/apparmor.d")
    set(_skip "/etc/apparmor.d does not exist")
  elseif(NOT EXISTS "/etc/apparmor.d/abi")
    set(_skip "AppArmor is not installed (/etc/apparmor.d holds only other packages' profiles)")
  elseif(NOT EXISTS "/etc/apparmor.d/abi/4.0")
    set(_skip "this AppArmor predates user namespace rules (no /etc/apparmor.d/abi/4.0) and does not restrict them")
  endif()
  if(_skip)
    message(STATUS "Skipping the AppArmor profile: ${_skip}")
    return()
  endif()
endif()

foreach(_dir BINDIR LIBEXECDIR)
  if(IS_ABSOLUTE "${SANDBOX_${_dir}}")
    set(SANDBOX_FULL_${_dir} "${SANDBOX_${_dir}}")
  else()
    set(SANDBOX_FULL_${_dir} "${CMAKE_INSTALL_PREFIX}/${SANDBOX_${_dir}}")
  endif()
endforeach()
configure_file("${SANDBOX_APPARMOR_TEMPLATE}" "${SANDBOX_APPARMOR_STAGED}" @ONLY)
# file(INSTALL) puts DESTDIR in front of the destination itself.
file(INSTALL DESTINATION "/etc/apparmor.d" TYPE FILE FILES "${SANDBOX_APPARMOR_STAGED}")
if(NOT _destdir)
  message(STATUS "Load the AppArmor profile with: sudo apparmor_parser -r /etc/apparmor.d/sandbox")
endif()
