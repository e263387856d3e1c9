/* key=value arguments: how a tool's orchestrator passes a child its job. */
#include "common/tool.h"

#include <stdlib.h>
#include <string.h>

const char *tool_arg(int argc, char **argv, const char *key, const char *def)
{
    size_t klen = strlen(key);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], key, klen) == 0 && argv[i][klen] == '=')
            return argv[i] + klen + 1;
    return def;
}

long tool_arg_long(int argc, char **argv, const char *key, long def)
{
    const char *v = tool_arg(argc, argv, key, NULL);
    return v != NULL ? strtol(v, NULL, 10) : def;
}

double tool_arg_double(int argc, char **argv, const char *key, double def)
{
    const char *v = tool_arg(argc, argv, key, NULL);
    return v != NULL ? strtod(v, NULL) : def;
}
