/* routes_dump: prints the routes paychand serves, from the router's own
 * table (pc_api_route_at, pc_api_methods), as JSON lines
 * {"method", "path", "authenticated", "needsVisualizer"}; the OpenAPI test
 * (openapi.test.mjs) checks docs/openapi.yaml against it. */
#include <stdio.h>

#include "server/api/api.h"

int main(void)
{
    const pc_api_route *r;
    for (size_t i = 0; (r = pc_api_route_at(i)) != NULL; i++)
        for (size_t m = 0; pc_api_methods[m]; m++)
            printf("{\"method\":\"%s\",\"path\":\"%s\",\"authenticated\":%s,"
                   "\"needsVisualizer\":%s}\n",
                   pc_api_methods[m], r->path, r->authenticated ? "true" : "false",
                   r->needs_visualizer ? "true" : "false");
    return 0;
}
