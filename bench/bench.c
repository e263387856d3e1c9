/* zmtls_bench: see bench.h for the roles and README.md ("Benchmark"). */
#include "bench.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return run_main(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "server") == 0)
        return role_server(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "client") == 0)
        return role_client(argc - 2, argv + 2);
    fprintf(stderr,
            "usage: %s run --certs DIR --out DIR [--quick] [...]\n"
            "       (server and client roles are started by run)\n",
            argv[0]);
    return 2;
}
