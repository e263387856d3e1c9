#include "conn/epcfg.h"

#include <stdlib.h>

void ep_cfg_destroy(ep_cfg_t **cfgp)
{
    ep_cfg_t *cfg = *cfgp;
    if (cfg == NULL)
        return;
    *cfgp = NULL;
    SSL_CTX_free(cfg->tls);
    bridge_destroy(&cfg->bridge);
    free(cfg);
}
