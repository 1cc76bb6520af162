
/*
 * A slice written for nginx-triage's tests in nginx's style (not nginx source): string
 * macros that formats are glued from, as src/os/unix/ngx_files.h has them.
 */


#ifndef _NGX_FIXTURE_FILES_H_INCLUDED_
#define _NGX_FIXTURE_FILES_H_INCLUDED_


#define ngx_fixture_open_n       "fopen()"
#define ngx_fixture_lock_n       ngx_fixture_open_n " with lock"
#define NGX_FIXTURE_LIMIT        64


#endif /* _NGX_FIXTURE_FILES_H_INCLUDED_ */
