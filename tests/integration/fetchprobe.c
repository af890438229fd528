/* fetchprobe — FETCH groups by sequence through libmoqc's public API, for
 * the relay's integration tests (loopback only).
 *
 *   fetchprobe URL SHA256 VERSION BROADCAST TRACK FIRST LAST [TIMEOUT_MS]
 *       connects to URL offering only VERSION (an ALPN: moq-lite-05, moqt-16,
 *       ...), pinning the server's certificate SHA256, waits until BROADCAST
 *       is announced (the session is set up then), and calls
 *       moqc_session_fetch for every group FIRST..LAST at once (IETF: a
 *       standalone FETCH each; moq-lite-05: a FETCH stream each). Once every
 *       fetch ended it prints, in group order, "G: PAYLOAD" for each frame
 *       and "G: error <why>" for a group that failed, then exits 0 if every
 *       group ended cleanly, else 1. TIMEOUT_MS (default 10000) bounds the
 *       whole run: "timed out" and exit 1.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include <moqc/endpoint.h>
#include <moqc/error.h>
#include <moqc/model.h>
#include <moqc/session.h>

#define MAX_GROUPS 64
#define MAX_TEXT 4096

typedef struct probe probe;

typedef struct fgroup {
  probe *p;
  uint64_t seq;
  moqc_group_consumer *gc;
  bool done;
  int err; /* MOQC_OK: ended cleanly */
  char text[MAX_TEXT];
  size_t len;
} fgroup;

struct probe {
  uv_loop_t loop;
  moqc_uv *uv;
  moqc_client *client;
  moqc_origin *origin;
  moqc_origin_consumer *announced;
  bool connected, seen, fetching;
  uv_timer_t deadline;
  const char *broadcast, *track;
  uint64_t first;
  size_t n, n_done;
  fgroup groups[MAX_GROUPS];
  int exit_code;
  bool finished;
};

static void finish(probe *p, int code, const char *why) {
  if (p->finished) return;
  p->finished = true;
  p->exit_code = code;
  if (why) fprintf(stderr, "fetchprobe: %s\n", why);
  uv_timer_stop(&p->deadline);
  uv_stop(&p->loop);
}

static void all_done(probe *p) {
  int code = 0;
  for (size_t i = 0; i < p->n; i++) {
    fgroup *g = &p->groups[i];
    fwrite(g->text, 1, g->len, stdout);
    if (g->err != MOQC_OK) {
      printf("%llu: error %s\n", (unsigned long long)g->seq, moqc_err_str(g->err));
      code = 1;
    }
  }
  fflush(stdout);
  finish(p, code, NULL);
}

static void pump(void *arg) {
  fgroup *g = arg;
  probe *p = g->p;
  while (!g->done) {
    moqc_frame f;
    int rc = moqc_group_consumer_read_frame(g->gc, &f);
    if (rc == MOQC_ERR_AGAIN) return;
    if (rc == MOQC_OK) {
      int k =
          snprintf(g->text + g->len, MAX_TEXT - g->len, "%llu: %.*s\n", (unsigned long long)g->seq,
                   (int)f.payload.len, (const char *)moqc_slice_ptr(&f.payload));
      moqc_slice_release(&f.payload);
      if (k > 0 && (size_t)k < MAX_TEXT - g->len) g->len += (size_t)k;
      continue;
    }
    g->done = true;
    g->err = rc == MOQC_ERR_CLOSED ? MOQC_OK : rc;
    if (++p->n_done == p->n) all_done(p);
  }
}

static void start_fetches(probe *p) {
  moqc_session *s = moqc_client_session(p->client);
  p->fetching = true;
  for (size_t i = 0; i < p->n; i++) {
    fgroup *g = &p->groups[i];
    g->p = p;
    g->seq = p->first + i;
    int e = 0;
    g->gc = moqc_session_fetch(s, p->broadcast, p->track, g->seq, 0, &e);
    if (!g->gc) {
      finish(p, 1, moqc_err_str(e));
      return;
    }
    moqc_group_consumer_set_waker(g->gc, pump, g);
  }
  for (size_t i = 0; i < p->n && !p->finished; i++) pump(&p->groups[i]);
}

static void on_announce(void *arg) {
  probe *p = arg;
  moqc_announce ann;
  while (moqc_origin_consumer_next(p->announced, &ann) == MOQC_OK) {
    if (ann.active && !strcmp(ann.path, p->broadcast)) p->seen = true;
  }
  if (p->seen && p->connected && !p->fetching && !p->finished) start_fetches(p);
}

static void on_connected(void *ctx, moqc_client *c, int err, const char *msg) {
  probe *p = ctx;
  (void)c;
  if (err != MOQC_OK) {
    finish(p, 1, msg ? msg : moqc_err_str(err));
    return;
  }
  p->connected = true;
  if (p->seen && !p->fetching) start_fetches(p);
}

static void on_deadline(uv_timer_t *t) { finish(t->data, 1, "timed out"); }

int main(int argc, char **argv) {
  static probe p;
  if (argc < 8) {
    fprintf(stderr,
            "usage: fetchprobe URL SHA256 VERSION BROADCAST TRACK FIRST LAST [TIMEOUT_MS]\n");
    return 2;
  }
  uint64_t first = strtoull(argv[6], NULL, 10), last = strtoull(argv[7], NULL, 10);
  if (last < first || last - first >= MAX_GROUPS) {
    fprintf(stderr, "fetchprobe: at most %d groups, FIRST <= LAST\n", MAX_GROUPS);
    return 2;
  }
  uint64_t timeout_ms = argc > 8 ? strtoull(argv[8], NULL, 10) : 10000;
  p.broadcast = argv[4];
  p.track = argv[5];
  p.first = first;
  p.n = (size_t)(last - first + 1);
  p.exit_code = 1;
  if (uv_loop_init(&p.loop) != 0) return 1;
  p.uv = moqc_uv_new(&p.loop, 0);
  if (!p.uv) return 1;
  uv_timer_init(&p.loop, &p.deadline);
  p.deadline.data = &p;
  p.origin = moqc_origin_new(moqc_uv_env(p.uv), NULL);
  p.announced = p.origin ? moqc_origin_consume(p.origin, "") : NULL;
  if (!p.announced) return 1;
  moqc_origin_consumer_set_waker(p.announced, on_announce, &p);
  const char *versions[] = {argv[3]};
  moqc_client_config cc = {.uv = p.uv,
                           .url = argv[1],
                           .versions = versions,
                           .n_versions = 1,
                           .subscribe = p.origin,
                           .websocket_disabled = true,
                           .on_connected = on_connected,
                           .ctx = &p};
  cc.tls.pin_sha256 = argv[2];
  char msg[256];
  if (moqc_client_connect(&cc, &p.client, msg, sizeof msg) != MOQC_OK) {
    fprintf(stderr, "fetchprobe: %s\n", msg);
    return 1;
  }
  uv_timer_start(&p.deadline, on_deadline, timeout_ms, 0);
  uv_run(&p.loop, UV_RUN_DEFAULT);
  for (size_t i = 0; i < p.n; i++) moqc_group_consumer_del(p.groups[i].gc);
  moqc_client_del(p.client);
  moqc_origin_consumer_del(p.announced);
  moqc_origin_unref(p.origin);
  moqc_uv_del(p.uv);
  uv_close((uv_handle_t *)&p.deadline, NULL);
  for (int i = 0; i < 1000 && uv_run(&p.loop, UV_RUN_NOWAIT); i++) {}
  uv_loop_close(&p.loop);
  return p.exit_code;
}
