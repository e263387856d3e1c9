/*
 * libzmq.so.5 for bindings that do not see LD_PRELOAD (docs/packaging.md).
 *
 * Deliberately empty: the library is its dynamic section. DT_NEEDED names
 * libzmtls.so.0 and then the real libzmq by absolute path, so a symbol
 * looked up through this library comes from zmtls when zmtls interposes it
 * and from libzmq otherwise. Defining anything here would shadow both.
 */
typedef int zmtls_compat_unit;
