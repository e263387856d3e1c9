/*
 * Stands in for the real libzmq at link time only (see CMakeLists.txt):
 * what matters is its soname, the real libzmq's absolute path.
 */
typedef int zmtls_libzmq_stub_unit;
