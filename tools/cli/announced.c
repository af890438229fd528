/* `moqc announced`: print "+path" / "-path" as broadcasts under --prefix come
 * and go (paths as the session sees them: relative to the URL's path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "moqc/error.h"
#include "moqc/path.h"

typedef struct ann_state {
  moqc_origin_consumer *oc;
  uint64_t lines;
  cli *c;
} ann_state;

static void ann_wake(void *arg) {
  ann_state *s = arg;
  moqc_announce a;
  while (!s->c->finishing && moqc_origin_consumer_next(s->oc, &a) == MOQC_OK) {
    if (a.restart) continue; /* a new route to a path still announced */
    printf("%c%s\n", a.active ? '+' : '-', a.path);
    if (s->c->count && ++s->lines >= s->c->count) cli_finish(s->c, 0, NULL);
  }
  fflush(stdout);
}

static int ann_start(cli *c) {
  ann_state *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->c = c;
  c->state = s;
  char prefix[MOQC_PATH_MAX_LEN + 1];
  const char *p = c->prefix ? c->prefix : "";
  if (moqc_path_normalize(prefix, sizeof prefix, p, strlen(p)) < 0) {
    cli_finish(c, 2, "invalid prefix '%s'", p);
    return -1;
  }
  s->oc = moqc_origin_consume(c->origin, prefix);
  if (!s->oc) return -1;
  moqc_origin_consumer_set_waker(s->oc, ann_wake, s);
  return 0;
}

static void ann_stop(cli *c) {
  ann_state *s = c->state;
  if (!s) return;
  c->state = NULL;
  moqc_origin_consumer_del(s->oc);
  free(s);
}

const cli_cmd cli_cmd_announced = {
    .name = "announced",
    .subscribes = true,
    .start = ann_start,
    .stop = ann_stop,
};
