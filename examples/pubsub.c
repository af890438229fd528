/* pubsub: publish a track and subscribe to it over loopback QUIC, in one
 * process, through libmoqc's public API only.
 *
 *   server (moqc_server, 127.0.0.1, ephemeral port) publishes broadcast "demo"
 *       with track "data": one group of one frame ("hello 0", "hello 1", ...)
 *       every 20 ms
 *   client (moqc_client, moqt://, pinning the server's certificate hash)
 *       subscribes to demo/data and prints frames in order until it has
 *       `want` of them
 *
 * Build against an installed libmoqc:
 *   cc -o pubsub pubsub.c $(pkg-config --cflags --libs moqc)
 * Run: ./pubsub [N]   (prints N frames, default 5; exit 0 on success)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include <moqc/endpoint.h>
#include <moqc/error.h>
#include <moqc/ordered.h>

typedef struct app {
  uv_loop_t loop;
  moqc_uv *uv;
  moqc_cert *cert;
  int want, got, exit_code;
  bool done;
  /* publisher */
  moqc_origin *pub_origin;
  moqc_broadcast_producer *broadcast;
  moqc_track_producer *track;
  uv_timer_t tick;
  unsigned next;
  moqc_server *server;
  /* subscriber */
  moqc_origin *sub_origin;
  moqc_origin_consumer *announced;
  moqc_ordered_reader *reader;
  moqc_client *client;
  uv_timer_t deadline;
} app;

static void finish(app *a, int code, const char *why) {
  if (a->done) return;
  a->done = true;
  a->exit_code = code;
  if (why) fprintf(stderr, "pubsub: %s\n", why);
  uv_timer_stop(&a->tick);
  uv_timer_stop(&a->deadline);
  uv_stop(&a->loop);
}

/* ---- publisher: a group per tick ----------------------------------------- */
static void on_tick(uv_timer_t *t) {
  app *a = t->data;
  char line[32];
  int n = snprintf(line, sizeof line, "hello %u", a->next++);
  moqc_group_producer *g = moqc_track_producer_append_group(a->track);
  if (!g) {
    finish(a, 1, "cannot append a group");
    return;
  }
  int rv = moqc_group_producer_write_frame_copy(g, line, (size_t)n, 0);
  if (rv == MOQC_OK) rv = moqc_group_producer_finish(g);
  moqc_group_producer_del(g);
  if (rv != MOQC_OK) finish(a, 1, moqc_err_str(rv));
}

static void on_request(void *ctx, moqc_server_request *req) {
  app *a = ctx;
  /* The session offers pub_origin's broadcasts to the client; it takes none. */
  if (moqc_server_accept(req, a->pub_origin, NULL) != MOQC_OK) finish(a, 1, "accept failed");
}

/* ---- subscriber: wait for "demo", read "data" in order -------------------- */
static bool on_frame(void *ctx, uint64_t group, size_t index, const moqc_frame *f) {
  app *a = ctx;
  (void)index;
  printf("group %llu: %.*s\n", (unsigned long long)group, (int)f->payload.len,
         (const char *)moqc_slice_ptr(&f->payload));
  fflush(stdout);
  if (++a->got >= a->want) {
    finish(a, 0, NULL);
    return false;
  }
  return true;
}

static void on_end(void *ctx, int err, uint64_t code) {
  (void)code;
  finish(ctx, 1, moqc_err_str(err));
}

static void on_announce(void *arg) {
  app *a = arg;
  moqc_announce ann;
  while (moqc_origin_consumer_next(a->announced, &ann) == MOQC_OK) {
    if (!ann.active || strcmp(ann.path, "demo") != 0 || a->reader) continue;
    int err = 0;
    moqc_broadcast_consumer *bc = moqc_origin_consumer_request(a->announced, "demo", &err);
    if (!bc) {
      finish(a, 1, moqc_err_str(err));
      return;
    }
    moqc_track_consumer *tc = moqc_broadcast_consumer_subscribe(bc, "data", NULL, &err);
    moqc_broadcast_consumer_del(bc); /* the track keeps what it needs */
    if (!tc) {
      finish(a, 1, moqc_err_str(err));
      return;
    }
    moqc_ordered_config oc = {.start = MOQC_GROUP_NONE,
                              .reorder_ms = 500,
                              .on_frame = on_frame,
                              .on_end = on_end,
                              .ctx = a};
    a->reader = moqc_ordered_reader_new(tc, &oc); /* owns tc */
    if (!a->reader) finish(a, 1, "out of memory");
  }
}

static void on_connected(void *ctx, moqc_client *c, int err, const char *msg) {
  (void)c;
  if (err != MOQC_OK) finish(ctx, 1, msg ? msg : moqc_err_str(err));
}

static void on_deadline(uv_timer_t *t) { finish(t->data, 1, "timed out"); }

int main(int argc, char **argv) {
  static app a;
  char msg[256];
  a.want = argc > 1 ? atoi(argv[1]) : 5;
  if (a.want <= 0) a.want = 5;
  a.exit_code = 1;
  if (uv_loop_init(&a.loop) != 0) return 1;
  a.uv = moqc_uv_new(&a.loop, 0);
  const char *hosts[] = {"localhost"};
  if (!a.uv || moqc_cert_self_signed(hosts, 1, &a.cert) != MOQC_OK) return 1;
  moqc_env *env = moqc_uv_env(a.uv);

  /* Publisher side: an origin holding broadcast "demo" with track "data". */
  int err = 0;
  a.pub_origin = moqc_origin_new(env, NULL);
  a.broadcast = moqc_broadcast_producer_new(env);
  a.track =
      a.broadcast ? moqc_broadcast_producer_create_track(a.broadcast, "data", NULL, &err) : NULL;
  moqc_broadcast_consumer *bc = a.broadcast ? moqc_broadcast_producer_consume(a.broadcast) : NULL;
  if (!a.pub_origin || !a.track || !bc ||
      moqc_origin_publish(a.pub_origin, "demo", bc, NULL) != MOQC_OK)
    return 1;
  moqc_broadcast_consumer_del(bc); /* the origin keeps its own clone */

  moqc_server_config sc = {
      .uv = a.uv, .host = "127.0.0.1", .cert = a.cert, .on_request = on_request, .ctx = &a};
  if (moqc_server_new(&sc, &a.server, msg, sizeof msg) != MOQC_OK) {
    fprintf(stderr, "pubsub: %s\n", msg);
    return 1;
  }

  /* Subscriber side: the client session fills sub_origin. */
  a.sub_origin = moqc_origin_new(env, NULL);
  a.announced = a.sub_origin ? moqc_origin_consume(a.sub_origin, "") : NULL;
  if (!a.announced) return 1;
  moqc_origin_consumer_set_waker(a.announced, on_announce, &a);
  char url[64];
  snprintf(url, sizeof url, "moqt://127.0.0.1:%u/", moqc_server_port(a.server));
  moqc_client_config cc = {
      .uv = a.uv, .url = url, .subscribe = a.sub_origin, .on_connected = on_connected, .ctx = &a};
  cc.tls.pin_sha256 = moqc_cert_fingerprint(a.cert);
  if (moqc_client_connect(&cc, &a.client, msg, sizeof msg) != MOQC_OK) {
    fprintf(stderr, "pubsub: %s\n", msg);
    return 1;
  }

  uv_timer_init(&a.loop, &a.tick);
  uv_timer_init(&a.loop, &a.deadline);
  a.tick.data = a.deadline.data = &a;
  uv_timer_start(&a.tick, on_tick, 0, 20);
  uv_timer_start(&a.deadline, on_deadline, 10000, 0);
  uv_run(&a.loop, UV_RUN_DEFAULT);

  /* Tear down in reverse order, then let libuv close the handles. */
  moqc_ordered_reader_del(a.reader);
  moqc_client_del(a.client);
  moqc_origin_consumer_del(a.announced);
  moqc_origin_unref(a.sub_origin);
  moqc_server_del(a.server);
  moqc_track_producer_finish(a.track);
  moqc_track_producer_del(a.track);
  moqc_broadcast_producer_finish(a.broadcast);
  moqc_broadcast_producer_del(a.broadcast);
  moqc_origin_unref(a.pub_origin);
  moqc_cert_unref(a.cert);
  moqc_uv_del(a.uv);
  uv_close((uv_handle_t *)&a.tick, NULL);
  uv_close((uv_handle_t *)&a.deadline, NULL);
  for (int i = 0; i < 1000 && uv_run(&a.loop, UV_RUN_NOWAIT); i++) {}
  uv_loop_close(&a.loop);
  if (a.exit_code == 0) printf("pubsub: received %d frames\n", a.got);
  return a.exit_code;
}
