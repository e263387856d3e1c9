/* zmtls_hostile: see hostile.h for the roles and README.md ("Hostile peers"). */
#include "hostile.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return hs_run_main(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "client") == 0)
        return hs_client_main(argc - 2, argv + 2);
    fprintf(
        stderr,
        "usage: %s run --certs DIR [--out FILE] [--quick] [--tcp | --both] [...]\n"
        "       (%s run --help lists the options; the client role is started by run)\n",
        argv[0], argv[0]);
    return 2;
}
