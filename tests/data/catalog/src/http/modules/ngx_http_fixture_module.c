
/*
 * A module written for nginx-triage's tests in nginx's calling style (not nginx source).
 * Every way nginx logs a message appears once, so that the catalogue extractor can be
 * checked against a golden output: levels, concatenated literals over several lines,
 * string macros, configuration errors, returned strings, a debug call that must be
 * skipped, a computed format that cannot be catalogued, and preprocessor branches that
 * open a block twice. ngx_log_error(NGX_LOG_EMERG, log, 0, "in a comment: ignored");
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    ngx_flag_t  enable;
    ngx_str_t   path;
} ngx_http_fixture_loc_conf_t;


static char *ngx_http_fixture_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_fixture_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_fixture_handler(ngx_http_request_t *r);


static ngx_command_t  ngx_http_fixture_commands[] = {

    { ngx_string("fixture"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_fixture_loc_conf_t, enable),
      NULL },

    { ngx_string("fixture_path"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_fixture_path,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


ngx_module_t  ngx_http_fixture_module = {
    NGX_MODULE_V1,
    NULL,                                  /* module context */
    ngx_http_fixture_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static char *
ngx_http_fixture_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_fixture_loc_conf_t *flcf = conf;

    ngx_str_t  *value;

    if (flcf->path.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty path in \"%V\" directive", &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (value[1].len > NGX_FIXTURE_LIMIT) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "fixture path \"%V\" is longer than "
                           "%d characters, ignored", &value[1],
                           NGX_FIXTURE_LIMIT);
        return NGX_CONF_OK;
    }

    flcf->path = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_fixture_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_fixture_loc_conf_t *prev = parent;
    ngx_http_fixture_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    if (conf->enable && conf->path.data == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"fixture\" is enabled but no \"fixture_path\" is set");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_fixture_handler(ngx_http_request_t *r)
{
    FILE        *f;
    ngx_err_t    err;
    ngx_uint_t   level;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "fixture handler: \"%V\"", &r->uri);

    f = fopen((char *) r->uri.data, "r");

    if (f == NULL) {
        err = ngx_errno;
        level = (err == NGX_ENOENT) ? NGX_LOG_ERR : NGX_LOG_CRIT;

        ngx_log_error(level, r->connection->log, err,
                      ngx_fixture_open_n " \"%s\" failed", r->uri.data);
        return NGX_HTTP_NOT_FOUND;
    }

#if (NGX_FIXTURE_LOCKING)
    if (ngx_fixture_trylock(f) != NGX_OK) {
#else
    if (ngx_fixture_lock(f) != NGX_OK) {
#endif
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                      ngx_fixture_lock_n " \"%V\" failed", &r->uri);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->headers_in.content_length_n > 1024) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "fixture body of %O bytes is too large",
                      r->headers_in.content_length_n);
    }

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "fixture served \"%V\"", &r->uri);

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  r->keepalive ? "fixture kept %ui connections"
                               : "fixture closed %ui connections",
                  (ngx_uint_t) 1);

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "%V", &r->uri);

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, r->uri.data);

    ngx_ssl_error(NGX_LOG_CRIT, r->connection->log, 0,
                  "fixture TLS check of \"%V\" failed", &r->uri);

    ngx_connection_error(r->connection, err, "fixture recv() failed");

    ngx_log_stderr(0, "[alert] fixture could not write \"%s\"", "x");

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "a string with ngx_log_error(NGX_LOG_EMERG, inside it %d", 1);

    return NGX_OK;
}
