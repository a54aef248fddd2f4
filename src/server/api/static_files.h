/* static_files.h: serving a folder of static files (the Visualizer web page
 * at /visualizer/, issue 5), read-only, confined to that folder. */
#ifndef PAYCHAN_SERVER_STATIC_FILES_H
#define PAYCHAN_SERVER_STATIC_FILES_H

#include "http/http.h"

/* Answers the file `relative` (the path below the URL prefix, "" or ending
 * in "/" meaning index.html) of folder `root`: 200 with the file and its
 * content type, 404 when it does not exist or resolves outside root (".."
 * or links) or is not a regular file (a FIFO, device or socket is never
 * opened for blocking reads), 500 when it cannot be read. */
void pc_static_serve(const char *root, const char *relative, pc_http_answer *answer);

#endif
