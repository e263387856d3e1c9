#include "epcfg/epcfg.h"

#include <openssl/crypto.h>
#include <stdlib.h>

bridge_cfg_t ep_cfg_bridge(const ep_cfg_t *cfg, int bind, const uint8_t *routing_id,
                           size_t routing_id_len)
{
    return (bridge_cfg_t){.ctx = cfg->ctx,
                          .inproc = cfg->inproc,
                          .routing_id = routing_id,
                          .routing_id_len = routing_id_len,
                          .bind = bind,
                          .app_type = cfg->app_type,
                          .conflate = cfg->conflate};
}

void ep_cfg_destroy(ep_cfg_t **cfgp)
{
    ep_cfg_t *cfg = *cfgp;
    if (cfg == NULL)
        return;
    *cfgp = NULL;
    SSL_CTX_free(cfg->tls);
    tls_src_destroy(&cfg->src);
    bridge_destroy(&cfg->bridge);
    OPENSSL_cleanse(cfg->socks_pass, sizeof(cfg->socks_pass));
    policy_accept_clear(&cfg->accept);
    free(cfg);
}
