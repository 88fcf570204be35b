/* record — release a closed interval (see record.h). */
#include "record.h"

#include <stdlib.h>
#include <string.h>

void interval_rec_free(struct interval_rec *r)
{
    if (!r) return;
    sketch_free(&r->sources);
    for (int k = 0; k < ROW_KINDS; k++) {
        for (size_t i = 0; i < r->n_rows[k]; i++) {
            sketch_free(&r->rows[k][i].src);
            sketch_free(&r->rows[k][i].dst);
        }
        free(r->rows[k]);
    }
    free(r->srcs);
    free(r->events);
    free(r->alerts);
    free(r->dos);
    free(r);
}

void baselines_free(struct baselines *b)
{
    free(b->rows);
    b->rows = NULL;
    b->n = 0;
}
