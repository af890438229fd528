# What `cmake --install` installs, and the Debian packages `cpack -G DEB` makes
# from it (scripts/package.sh, docs/packaging.md). Three components, split the
# way Debian splits a library:
#   lib    libmoqc0     libmoqc.so.0 (SONAME libmoqc.so.0)
#   dev    libmoqc-dev  headers, libmoqc.a, libmoqc.so, moqc.pc
#   tools  moqc         moqc-relay, moqc, man pages, /etc/moqc/relay.conf, the
#                       systemd unit (the tools link libmoqc statically)

configure_file(${PROJECT_SOURCE_DIR}/moqc.pc.in ${PROJECT_BINARY_DIR}/moqc.pc @ONLY)

install(TARGETS moqc_shared
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib NAMELINK_COMPONENT dev)
install(TARGETS moqc_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/moqc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev)
install(FILES ${PROJECT_BINARY_DIR}/moqc.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT dev)
install(TARGETS moqc-relay moqc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)

# Man pages: hand-written roff under man/ (tests/check_manpages.sh keeps them
# in sync with --help), installed gzipped as Debian wants them.
set(MOQC_MANPAGES moqc.1 moqc-relay.8 moqc-relay.conf.5)
set(_gz)
foreach(page ${MOQC_MANPAGES})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" _sec ${page})
  set(_out ${PROJECT_BINARY_DIR}/man/${page}.gz)
  add_custom_command(OUTPUT ${_out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/man/${page} > ${_out}
    DEPENDS ${PROJECT_SOURCE_DIR}/man/${page} VERBATIM)
  list(APPEND _gz ${_out})
  install(FILES ${_out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${_sec} COMPONENT tools)
endforeach()
add_custom_target(moqc_manpages ALL DEPENDS ${_gz})

# Files outside the prefix's tree: with prefix /usr (the package) the config
# goes to /etc and the unit to /lib/systemd/system (Debian 12's place); with
# any other prefix both stay under it. The unit names the binary and config
# by absolute path, so it is rewritten for that prefix.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(MOQC_UNITDIR /lib/systemd/system)
else()
  set(MOQC_UNITDIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
file(READ ${PROJECT_SOURCE_DIR}/packaging/systemd/moqc-relay.service _unit)
string(REPLACE "/usr/bin/" "${CMAKE_INSTALL_FULL_BINDIR}/" _unit "${_unit}")
string(REPLACE "/etc/moqc/" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/moqc/" _unit "${_unit}")
file(WRITE ${PROJECT_BINARY_DIR}/packaging/moqc-relay.service "${_unit}")
install(FILES ${PROJECT_BINARY_DIR}/packaging/moqc-relay.service DESTINATION ${MOQC_UNITDIR}
        COMPONENT tools)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/relay.conf
        DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/moqc COMPONENT tools)

# Debian wants a copyright file and a changelog in /usr/share/doc/<package>.
set(_chlog ${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz)
add_custom_command(OUTPUT ${_chlog}
  COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/packaging/debian/changelog > ${_chlog}
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/debian/changelog VERBATIM)
add_custom_target(moqc_debian_changelog ALL DEPENDS ${_chlog})
foreach(pair lib:libmoqc0 dev:libmoqc-dev tools:moqc)
  string(REPLACE ":" ";" pair ${pair})
  list(GET pair 0 _comp)
  list(GET pair 1 _pkg)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/copyright ${_chlog}
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_pkg} COMPONENT ${_comp})
endforeach()

# ---- CPack: cpack -G DEB in a build configured with CMAKE_INSTALL_PREFIX=/usr --
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME moqc)
set(CPACK_PACKAGE_VENDOR moqc)
# MOQC_DEB_MAINTAINER="Name <mail>" to sign the packages as someone else.
set(MOQC_DEB_MAINTAINER "moqc maintainers <moqc-maintainers@example.org>" CACHE STRING
    "Maintainer field of the Debian packages")
set(CPACK_PACKAGE_CONTACT "${MOQC_DEB_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL lib dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # <package>_<version>-<release>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE https://moq.dev)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # dpkg-shlibdeps: Depends on the Debian libraries
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libmoqc0)
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# shlibs (so dpkg-shlibdeps of users finds libmoqc0) and the ldconfig trigger,
# written here: CPack's GENERATE_SHLIBS writes neither for a component package.
file(WRITE ${PROJECT_BINARY_DIR}/packaging/lib/shlibs
     "libmoqc 0 libmoqc0 (>= ${PROJECT_VERSION})\n")
file(WRITE ${PROJECT_BINARY_DIR}/packaging/lib/triggers "activate-noawait ldconfig\n")
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA ${PROJECT_BINARY_DIR}/packaging/lib/shlibs
    ${PROJECT_BINARY_DIR}/packaging/lib/triggers)
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_COMPONENT_LIB_DESCRIPTION
    "Media over QUIC library (moq-lite)\nlibmoqc implements Media over QUIC (moq-lite 03/04/05) over raw QUIC,\nWebTransport and WebSocket: publish and subscribe to tracks of groups of\nframes, with caching, fan-out and prioritisation.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libmoqc-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libmoqc0 (= ${PROJECT_VERSION}-1), libuv1-dev, libngtcp2-dev, libngtcp2-crypto-gnutls-dev, libgnutls28-dev, libnghttp3-dev, libjwt-gnutls-dev, libjansson-dev, zlib1g-dev, libwslay-dev, pkg-config")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "Media over QUIC library (development files)\nHeaders, the static library, the libmoqc.so link and the pkg-config file\n(pkg-config --cflags --libs moqc) for libmoqc.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME moqc)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION net)
set(CPACK_DEBIAN_TOOLS_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_TOOLS_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
    "Media over QUIC relay and command-line tool\nmoqc-relay is a Media-over-QUIC relay (raw QUIC, WebTransport and\nWebSocket on one port) with a sandboxed systemd unit; moqc publishes,\nsubscribes and inspects broadcasts from the command line.")

include(CPack)
