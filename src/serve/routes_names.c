/* routes_names — GET /api/v1/names: the packet classes and scanner
 * fingerprints, with their descriptions, straight from classify's tables.
 * The dashboard keeps only its own display text (translations, colours) and
 * takes the names themselves from here and from the data. */
#include "../core/classify.h"
#include "routes.h"
#include "serve.h"

json_t *route_names_json(void)
{
    json_t *cls = json_array(), *fps = json_array();
    for (int i = 0; cls && i < CLS_COUNT; i++)
        json_array_append_new(
            cls, json_pack("{s:s,s:s}", "name", class_defs[i].name, "help", class_defs[i].help));
    for (int i = 0; fps && i < FP_COUNT; i++)
        json_array_append_new(
            fps, json_pack("{s:s,s:s}", "name", fp_defs[i].name, "help", fp_defs[i].help));
    return json_pack("{s:o,s:o}", "classes", cls, "fingerprints", fps);
}

enum MHD_Result route_names(struct server *s, struct conn *k, struct MHD_Connection *c)
{
    (void)s;
    (void)k;
    return respond_json(c, route_names_json());
}
