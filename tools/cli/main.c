/* moqc: the command-line tool. Flags, the connection, the loop, exit codes.
 *
 * Exit codes: 0 success, 1 runtime failure (connection, unknown broadcast,
 * aborted track...), 2 usage error. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "moqc/auth.h"
#include "media.h"
#include "moqc/error.h"
#include "moqc/path.h"
#include "common/tool_util.h"

enum {
  C_PUB = 1,   /* publish */
  C_SUB = 2,   /* subscribe */
  C_ANN = 4,   /* announced */
  C_CPUB = 8,  /* clock publish */
  C_CSUB = 16, /* clock subscribe */
  C_ALL = 31,
};

/* v: the value; "" for a switch, NULL for an optional value that was not given. */
typedef int (*opt_set)(cli *c, const char *v, char *err, size_t cap);

typedef struct cli_opt {
  const char *name;
  const char *arg; /* NULL: a switch; "[=X]": an optional value, only as --name=X */
  int cmds;
  const char *help;
  opt_set set;
} cli_opt;

static bool opt_optional(const cli_opt *o) { return o->arg && strncmp(o->arg, "[=", 2) == 0; }

static int bad(char *err, size_t cap, const char *name, const char *v, const char *why) {
  snprintf(err, cap, "--%s: invalid value '%.200s' (%s)", name, v, why);
  return -1;
}

#define SET_STR(fn, field)                                      \
  static int fn(cli *c, const char *v, char *err, size_t cap) { \
    (void)err;                                                  \
    (void)cap;                                                  \
    c->field = v;                                               \
    return 0;                                                   \
  }
SET_STR(set_url, url)
SET_STR(set_broadcast, broadcast)
SET_STR(set_track, track)
SET_STR(set_prefix, prefix)
SET_STR(set_root, tls.ca_file)
SET_STR(set_client_cert, tls.cert_file)
SET_STR(set_client_key, tls.key_file)

static int set_fingerprint(cli *c, const char *v, char *err, size_t cap) {
  size_t hex = 0;
  for (const char *p = v; *p; p++) {
    if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')) hex++;
    else if (*p != ':') return bad(err, cap, "tls-fingerprint", v, "expected 64 hex digits");
  }
  if (hex != 64) return bad(err, cap, "tls-fingerprint", v, "expected 64 hex digits");
  c->tls.pin_sha256 = v;
  return 0;
}

static int set_disable_verify(cli *c, const char *v, char *err, size_t cap) {
  (void)v, (void)err, (void)cap;
  c->tls.disable_verify = true;
  return 0;
}

static int set_u64(const char *name, const char *v, uint64_t min, uint64_t *out, char *err,
                   size_t cap) {
  uint64_t x;
  if (moqc_tool_parse_u64(v, &x) != 0 || x < min)
    return bad(err, cap, name, v, min ? "expected a positive integer" : "expected an integer");
  *out = x;
  return 0;
}

static int set_count(cli *c, const char *v, char *err, size_t cap) {
  return set_u64("count", v, 1, &c->count, err, cap);
}
static int set_group_frames(cli *c, const char *v, char *err, size_t cap) {
  return set_u64("group-frames", v, 1, &c->group_frames, err, cap);
}
static int set_start_group(cli *c, const char *v, char *err, size_t cap) {
  c->start_group_set = true;
  if (set_u64("start-group", v, 0, &c->start_group, err, cap) != 0) return -1;
  if (c->start_group >= ((uint64_t)1 << 62))
    return bad(err, cap, "start-group", v, "must be below 2^62");
  return 0;
}

static int set_duration(const char *name, const char *v, uint64_t *out, char *err, size_t cap) {
  if (moqc_tool_parse_duration_ns(v, out) != 0)
    return bad(err, cap, name, v, "expected a duration, e.g. 500ms, 10s");
  return 0;
}
static int set_wait(cli *c, const char *v, char *err, size_t cap) {
  c->wait_set = true;
  return set_duration("wait", v, &c->wait_ns, err, cap);
}
/* --wait-subscriber[=DURATION]: the value is optional (only with '='); v is
 * NULL without one. */
static int set_wait_subscriber(cli *c, const char *v, char *err, size_t cap) {
  c->wait_subscriber = true;
  if (!v) return 0; /* the default bound */
  if (set_duration("wait-subscriber", v, &c->wait_subscriber_ns, err, cap) != 0) return -1;
  if (c->wait_subscriber_ns < 1000000) return bad(err, cap, "wait-subscriber", v, "at least 1ms");
  return 0;
}
static int set_push(cli *c, const char *v, char *err, size_t cap) {
  (void)v, (void)err, (void)cap;
  c->push = true;
  return 0;
}
static int set_drain(cli *c, const char *v, char *err, size_t cap) {
  return set_duration("drain", v, &c->drain_ns, err, cap);
}
static int set_reorder(cli *c, const char *v, char *err, size_t cap) {
  uint64_t ns;
  if (set_duration("reorder", v, &ns, err, cap) != 0) return -1;
  c->reorder_ms = ns / 1000000;
  return 0;
}
static int set_auth_token(cli *c, const char *v, char *err, size_t cap) {
  if (!*v) return bad(err, cap, "auth-token", v, "expected a token");
  c->auth_token = v;
  return 0;
}

static int set_timeout(cli *c, const char *v, char *err, size_t cap) {
  uint64_t ns;
  if (set_duration("timeout", v, &ns, err, cap) != 0) return -1;
  c->timeout_ms = ns / 1000000 ? ns / 1000000 : 1;
  return 0;
}

/* moq-native's --websocket-enabled / --websocket-delay (https:// and http://). */
static int set_websocket_enabled(cli *c, const char *v, char *err, size_t cap) {
  if (strcmp(v, "true") == 0) c->websocket_disabled = false;
  else if (strcmp(v, "false") == 0) c->websocket_disabled = true;
  else return bad(err, cap, "websocket-enabled", v, "expected true or false");
  return 0;
}
static int set_websocket_delay(cli *c, const char *v, char *err, size_t cap) {
  uint64_t ns;
  if (set_duration("websocket-delay", v, &ns, err, cap) != 0) return -1;
  c->websocket_delay_ms = ns / 1000000 ? ns / 1000000 : 1;
  return 0;
}

static int set_version(cli *c, const char *v, char *err, size_t cap) {
  if (!moqc_version_supported(v))
    return bad(
        err, cap, "version", v,
        "expected moq-lite-03, moq-lite-04, moq-lite-05, moql, moq-00 (IETF draft-14), moqt-15, "
        "moqt-16, moqt-17, moqt-18 or moqt-19");
  for (size_t i = 0; i < c->n_versions; i++)
    if (strcmp(c->versions[i], v) == 0) return 0;
  if (c->n_versions >= CLI_MAX_VERSIONS) return bad(err, cap, "version", v, "too many");
  c->versions[c->n_versions++] = v;
  return 0;
}

static int set_format(cli *c, const char *v, char *err, size_t cap) {
  if (strcmp(v, "lines") != 0 && strcmp(v, "fmp4") != 0)
    return bad(err, cap, "format", v, "expected lines or fmp4");
  c->format = v;
  return 0;
}
static int set_latency_log(cli *c, const char *v, char *err, size_t cap) {
  (void)err, (void)cap;
  c->latency_log = v;
  return 0;
}
static int set_frame_log(cli *c, const char *v, char *err, size_t cap) {
  (void)err, (void)cap;
  c->frame_log = v;
  return 0;
}
static int set_datagram(cli *c, const char *v, char *err, size_t cap) {
  (void)v, (void)err, (void)cap;
  c->datagram = true;
  return 0;
}
static int set_realtime(cli *c, const char *v, char *err, size_t cap) {
  (void)v, (void)err, (void)cap;
  c->realtime = true;
  return 0;
}

static int set_log_level(cli *c, const char *v, char *err, size_t cap) {
  (void)c;
  int l = moqc_log_parse_level(v);
  if (l < 0) return bad(err, cap, "log-level", v, "expected error, warn, info, debug or trace");
  moqc_log_set_level(l);
  return 0;
}

static const cli_opt k_opts[] = {
    {"url", "URL", C_ALL,
     "relay URL: https://host:port/path (WebTransport), http://host:port/path (WebTransport, "
     "certificate hash from /certificate.sha256), moqt://host:port/path (raw QUIC)",
     set_url},
    {"broadcast", "NAME", C_PUB | C_SUB | C_CPUB | C_CSUB, "broadcast path", set_broadcast},
    {"track", "NAME", C_PUB | C_SUB | C_CPUB | C_CSUB, "track name [default data; clock: seconds]",
     set_track},
    {"group-frames", "N", C_PUB, "frames (lines) per group [default 1]", set_group_frames},
    {"datagram", NULL, C_PUB,
     "send each group as datagrams where the session can (lite-05: a one-frame group as one "
     "DATAGRAM; IETF: one OBJECT_DATAGRAM per frame; else a stream)",
     set_datagram},
    {"start-group", "N", C_PUB | C_SUB,
     "publish: sequence of the first group [default 0]; subscribe: first group wanted, from "
     "the relay's cache [default: the latest]",
     set_start_group},
    {"wait-subscriber", "[=DURATION]", C_PUB,
     "read stdin only once the relay subscribed, so the first subscriber gets every frame; "
     "fail if nobody subscribed within DURATION [default 1m]",
     set_wait_subscriber},
    {"push", NULL, C_PUB,
     "IETF versions: push the track to the relay with PUBLISH once connected instead of "
     "waiting for its SUBSCRIBE (if the relay refuses it, it subscribes as usual); a usage "
     "error with only moq-lite --version values, a warning if moq-lite is negotiated",
     set_push},
    {"drain", "DURATION", C_PUB,
     "at EOF, wait at most this long for subscribers to receive everything [default 10s]",
     set_drain},
    {"count", "N", C_SUB | C_ANN | C_CSUB, "exit 0 after N frames / lines", set_count},
    {"wait", "DURATION", C_SUB | C_CSUB,
     "how long to wait for the broadcast to be announced [default 10s; clock: forever]", set_wait},
    {"reorder", "DURATION", C_SUB | C_CSUB,
     "print groups in sequence order, waiting this long for a missing one [default 1s]",
     set_reorder},
    {"format", "FMT", C_PUB | C_SUB,
     "lines: one frame per line [default]; fmp4: a hang media broadcast from/to fragmented MP4 "
     "on stdin/stdout (publish: catalog.json + one track per stream; subscribe: from the "
     "latest keyframe)",
     set_format},
    {"realtime", NULL, C_PUB, "--format fmp4: publish at the pace of the timestamps", set_realtime},
    {"latency-log", "FILE", C_PUB | C_SUB,
     "--format fmp4: append '<pts_us> <wall-clock ns>' per video frame as it is read from stdin "
     "(publish) / received (subscribe), for bench/media_latency.sh",
     set_latency_log},
    {"frame-log", "FILE", C_SUB,
     "--format fmp4: write the catalog as decoded ('catalog <json>') and a line per frame "
     "received, before any is dropped ('frame <track> <group> <index> <timestamp_us> <bytes> "
     "<payload sha256>')",
     set_frame_log},
    {"prefix", "PATH", C_ANN, "only broadcasts under this path [default all]", set_prefix},
    {"client-tls-cert", "FILE", C_ALL,
     "mutual TLS: present this PEM client certificate chain if the server asks for one; needs "
     "--client-tls-key",
     set_client_cert},
    {"client-tls-key", "FILE", C_ALL, "PEM private key of --client-tls-cert", set_client_key},
    {"tls-disable-verify", NULL, C_ALL, "accept any server certificate (testing only)",
     set_disable_verify},
    {"tls-fingerprint", "HEX", C_ALL,
     "accept exactly the certificate with this SHA-256 (64 hex digits)", set_fingerprint},
    {"tls-root", "FILE", C_ALL, "PEM file of trusted roots instead of the system store", set_root},
    {"version", "ALPN", C_ALL,
     "offer only this version (repeatable): moq-lite-03, moq-lite-04, moq-lite-05, moq-00, "
     "moqt-15, moqt-16, moqt-17, moqt-18, moqt-19, moql [default all]",
     set_version},
    {"timeout", "DURATION", C_ALL, "connect timeout [default 10s]", set_timeout},
    {"websocket-enabled", "BOOL", C_ALL,
     "https:// and http:// URLs: also try WebSocket (wss:// / ws://, same host and port) after "
     "the --websocket-delay head start; the first transport up wins [default true]",
     set_websocket_enabled},
    {"websocket-delay", "DURATION", C_ALL, "QUIC's head start over WebSocket [default 200ms]",
     set_websocket_delay},
    {"auth-token", "JWT", C_ALL,
     "IETF versions: send this token in the SETUP AUTHORIZATION TOKEN parameter (instead of "
     "?jwt= in the URL)",
     set_auth_token},
    {"log-level", "LEVEL", C_ALL, "error, warn, info, debug or trace [default warn]",
     set_log_level},
};

static void usage(FILE *out) {
  fprintf(out,
          "Usage: moqc COMMAND [OPTIONS]\n"
          "\n"
          "Commands:\n"
          "  publish   --url URL --broadcast NAME [--track NAME] [--group-frames N]\n"
          "            read stdin; each line (without its newline) is one frame\n"
          "  subscribe --url URL --broadcast NAME [--track NAME] [--count N]\n"
          "            print each frame as one line\n"
          "  announced --url URL [--prefix PATH] [--count N]\n"
          "            print +path / -path as broadcasts come and go\n"
          "  clock publish|subscribe --url URL --broadcast NAME\n"
          "  token generate|sign|verify ...   keys and tokens (moqc token --help)\n"
          "            the moq-dev clock example (track 'seconds', a group per minute)\n"
          "\n"
          "Options:\n");
  for (size_t i = 0; i < sizeof k_opts / sizeof k_opts[0]; i++) {
    char left[64];
    const char *arg = k_opts[i].arg ? k_opts[i].arg : "";
    snprintf(left, sizeof left, "--%s%s%s", k_opts[i].name, opt_optional(&k_opts[i]) ? "" : " ",
             arg);
    fprintf(out, "  %-28s %s\n", left, k_opts[i].help);
  }
  fprintf(out, "  %-28s %s\n", "--help", "show this help");
  fprintf(out,
          "\nExit status: 0 success, 1 failure (connection, unknown broadcast, aborted "
          "track), 2 usage error.\n");
}

static const cli_opt *find_opt(const char *name, size_t n) {
  for (size_t i = 0; i < sizeof k_opts / sizeof k_opts[0]; i++)
    if (strlen(k_opts[i].name) == n && strncmp(k_opts[i].name, name, n) == 0) return &k_opts[i];
  return NULL;
}

static int cmd_mask(const cli_cmd *cmd) {
  if (cmd == &cli_cmd_publish) return C_PUB;
  if (cmd == &cli_cmd_subscribe) return C_SUB;
  if (cmd == &cli_cmd_announced) return C_ANN;
  if (cmd == &cli_cmd_clock_publish) return C_CPUB;
  return C_CSUB;
}

/* Returns 0, 1 (help shown), or -1 with err. */
static int parse_args(cli *c, int argc, char **argv, char *err, size_t cap) {
  const char *words[3] = {NULL, NULL, NULL};
  size_t nw = 0;
  const cli_opt *seen[64];
  size_t nseen = 0;
  const cli_opt *bare_optional = NULL; /* the previous argument: --opt of "[=X]" without '=' */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0) return 1;
    if (strncmp(a, "--", 2) != 0) {
      uint64_t ns;
      if (bare_optional && moqc_tool_parse_duration_ns(a, &ns) == 0) {
        snprintf(err, cap, "--%s takes its value after '=': --%s=%.100s", bare_optional->name,
                 bare_optional->name, a);
        return -1;
      }
      bare_optional = NULL;
      if (nw >= 2) {
        snprintf(err, cap, "unexpected argument '%.200s' (see --help)", a);
        return -1;
      }
      words[nw++] = a;
      continue;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    const cli_opt *o = find_opt(name, n);
    if (!o) {
      snprintf(err, cap, "unknown option '%.*s' (see --help)", (int)(n + 2), a);
      return -1;
    }
    const char *v = "";
    if (opt_optional(o)) {
      v = eq ? eq + 1 : NULL; /* NULL: given without a value */
    } else if (o->arg) {
      if (eq) v = eq + 1;
      else if (i + 1 < argc) v = argv[++i];
      else {
        snprintf(err, cap, "--%s needs a value (%s)", o->name, o->arg);
        return -1;
      }
    } else if (eq) {
      snprintf(err, cap, "--%s takes no value", o->name);
      return -1;
    }
    if (o->set(c, v, err, cap) != 0) return -1;
    bare_optional = opt_optional(o) && !eq ? o : NULL;
    if (nseen < 64) seen[nseen++] = o;
  }
  if (!words[0]) {
    snprintf(err, cap, "missing command: publish, subscribe, announced or clock (see --help)");
    return -1;
  }
  if (strcmp(words[0], "publish") == 0) c->cmd = &cli_cmd_publish;
  else if (strcmp(words[0], "subscribe") == 0) c->cmd = &cli_cmd_subscribe;
  else if (strcmp(words[0], "announced") == 0) c->cmd = &cli_cmd_announced;
  else if (strcmp(words[0], "clock") == 0) {
    if (!words[1] || (strcmp(words[1], "publish") && strcmp(words[1], "subscribe"))) {
      snprintf(err, cap, "clock needs 'publish' or 'subscribe'");
      return -1;
    }
    c->cmd = strcmp(words[1], "publish") == 0 ? &cli_cmd_clock_publish : &cli_cmd_clock_subscribe;
    c->mode = words[1];
    words[1] = NULL;
  } else {
    snprintf(err, cap, "unknown command '%.100s' (publish, subscribe, announced, clock)", words[0]);
    return -1;
  }
  if (words[1]) {
    snprintf(err, cap, "unexpected argument '%.200s' (see --help)", words[1]);
    return -1;
  }
  int mask = cmd_mask(c->cmd);
  for (size_t i = 0; i < nseen; i++) {
    if (!(seen[i]->cmds & mask)) {
      snprintf(err, cap, "--%s does not apply to '%s'", seen[i]->name, words[0]);
      return -1;
    }
  }
  if ((c->realtime || c->latency_log || c->frame_log) &&
      !(c->format && strcmp(c->format, "fmp4") == 0)) {
    snprintf(err, cap, "--realtime, --latency-log and --frame-log need --format fmp4");
    return -1;
  }
  if (c->push) {
    if (c->wait_subscriber) {
      snprintf(err, cap,
               "--push and --wait-subscriber exclude each other (a pushed track's groups wait "
               "in the cache for the relay's PUBLISH_OK)");
      return -1;
    }
    if (c->format && strcmp(c->format, "fmp4") == 0) {
      snprintf(err, cap, "--push does not apply to --format fmp4");
      return -1;
    }
    bool ietf = c->n_versions == 0;
    for (size_t i = 0; i < c->n_versions; i++)
      if (strncmp(c->versions[i], "moq-lite-", 9) != 0) ietf = true;
    if (!ietf) {
      snprintf(err, cap, "--push needs an IETF version (moq-lite has no PUBLISH)");
      return -1;
    }
  }
  if (c->format && strcmp(c->format, "fmp4") == 0) {
    if (c->track) {
      snprintf(err, cap, "--track does not apply to --format fmp4 (a hang broadcast)");
      return -1;
    }
    c->cmd = c->cmd == &cli_cmd_publish ? &cli_cmd_publish_fmp4 : &cli_cmd_subscribe_fmp4;
  }
  if (!c->url) {
    snprintf(err, cap, "--url is required");
    return -1;
  }
  moqc_url u;
  char uerr[512];
  if (moqc_url_parse(c->url, &u, uerr, sizeof uerr) != MOQC_OK) {
    snprintf(err, cap, "--url: %s", uerr);
    return -1;
  }
  if ((mask & (C_PUB | C_SUB | C_CPUB | C_CSUB)) && (!c->broadcast || !*c->broadcast)) {
    snprintf(err, cap, "--broadcast is required");
    return -1;
  }
  if (c->track && !*c->track) {
    snprintf(err, cap, "--track: empty name");
    return -1;
  }
  return 0;
}

/* ---- lifecycle ---------------------------------------------------------------- */

moqc_session *cli_session(cli *c) { return c->client ? moqc_client_session(c->client) : NULL; }
moqc_env *cli_env(cli *c) { return moqc_uv_env(c->uv); }

int cli_broadcast_path(cli *c, char path[MOQC_PATH_MAX_LEN + 1]) {
  if (moqc_path_normalize(path, MOQC_PATH_MAX_LEN + 1, c->broadcast, strlen(c->broadcast)) <= 0) {
    cli_finish(c, 2, "invalid broadcast path '%s'", c->broadcast);
    return -1;
  }
  return 0;
}

int cli_publish_track(cli *c, moqc_broadcast_producer **bp, moqc_track_producer **tp) {
  char path[MOQC_PATH_MAX_LEN + 1];
  if (cli_broadcast_path(c, path) != 0) return -1;
  int err = 0;
  *bp = moqc_broadcast_producer_new(cli_env(c));
  *tp = *bp ? moqc_broadcast_producer_create_track(*bp, c->track, NULL, &err) : NULL;
  moqc_broadcast_consumer *bc = *tp ? moqc_broadcast_producer_consume(*bp) : NULL;
  int rv = bc ? moqc_origin_publish(c->origin, path, bc, NULL) : MOQC_ERR_NOMEM;
  moqc_broadcast_consumer_del(bc);
  if (rv != MOQC_OK) {
    cli_finish(c, 1, "cannot publish '%s': %s", path, moqc_err_str(rv));
    return -1;
  }
  return 0;
}

static void teardown(uv_timer_t *t) {
  cli *c = t->data;
  if (c->cmd) c->cmd->stop(c);
  moqc_client_del(c->client);
  c->client = NULL;
  moqc_origin_unref(c->origin);
  c->origin = NULL;
  uv_close((uv_handle_t *)&c->sigint, NULL);
  uv_close((uv_handle_t *)&c->sigterm, NULL);
  uv_close((uv_handle_t *)&c->stop_timer, NULL);
  moqc_uv_del(c->uv);
  c->uv = NULL;
}

void cli_finish(cli *c, int code, const char *fmt, ...) {
  if (c->finishing) return;
  c->finishing = true;
  c->exit_code = code;
  if (fmt) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "moqc: %s\n", msg);
  }
  uv_timer_start(&c->stop_timer, teardown, 0, 0);
}

static void on_signal(uv_signal_t *h, int signum) {
  cli *c = h->data;
  (void)signum;
  if (c->interrupted) { /* second signal: stop now */
    cli_finish(c, 130, NULL);
    return;
  }
  c->interrupted = true;
  moqc_log(MOQC_LOG_INFO, "interrupted");
  /* Publishers end their broadcast cleanly first (bounded by their drain). */
  if (c->cmd->interrupt && c->connected) c->cmd->interrupt(c);
  else cli_finish(c, 0, NULL);
}

static void on_connected(void *ctx, moqc_client *cl, int err, const char *msg) {
  cli *c = ctx;
  (void)cl;
  if (err != MOQC_OK) {
    cli_finish(c, 1, "cannot connect to %s: %s", c->url, msg ? msg : moqc_err_str(err));
    return;
  }
  c->connected = true;
  moqc_session *s = moqc_client_session(cl);
  char shown[1024];
  moqc_auth_redact_url(c->url, shown, sizeof shown);
  moqc_log(MOQC_LOG_INFO, "connected to %s (%s) over %s", shown, s ? moqc_session_protocol(s) : "?",
           moqc_client_transport(cl));
  if (c->cmd->connected) c->cmd->connected(c);
}

static void on_closed(void *ctx, moqc_client *cl, uint64_t code, const char *reason, bool by_peer) {
  cli *c = ctx;
  if (c->finishing) return;
  moqc_session *s = moqc_client_session(cl);
  const char *goaway = s ? moqc_session_goaway(s) : NULL;
  if (goaway && by_peer && code == 0) {
    /* The relay said GOAWAY, then closed: it is going away (shutdown). A
     * clean exit; run again to reconnect (to the new URI, if it named one). */
    moqc_log(MOQC_LOG_WARN, "the relay went away (GOAWAY%s%s): exiting", *goaway ? " to " : "",
             goaway);
    cli_finish(c, 0, NULL);
    return;
  }
  /* Named in the session's registry (IETF 0x3 PROTOCOL_VIOLATION, lite 3 Timeout). */
  const char *name = moqc_close_code_str(s ? moqc_session_version(s) : 0, code);
  if (reason && *reason && code)
    cli_finish(c, 1, "connection closed by %s: %s (code %llu %s)", by_peer ? "the relay" : "us",
               reason, (unsigned long long)code, name);
  else
    cli_finish(c, 1, "connection closed by %s: %s (code %llu)", by_peer ? "the relay" : "us",
               reason && *reason ? reason : name, (unsigned long long)code);
}

static int run(cli *c) {
  if (uv_loop_init(&c->loop) != 0) {
    fprintf(stderr, "moqc: cannot create the event loop\n");
    return 1;
  }
  c->uv = moqc_uv_new(&c->loop, 0);
  moqc_origin_config oc = {0, 0};
  c->origin = c->uv ? moqc_origin_new(moqc_uv_env(c->uv), &oc) : NULL;
  uv_signal_init(&c->loop, &c->sigint);
  uv_signal_init(&c->loop, &c->sigterm);
  uv_timer_init(&c->loop, &c->stop_timer);
  c->sigint.data = c->sigterm.data = c->stop_timer.data = c;
  uv_signal_start(&c->sigint, on_signal, SIGINT);
  uv_signal_start(&c->sigterm, on_signal, SIGTERM);
  if (!c->origin) {
    cli_finish(c, 1, "out of memory");
  } else if (c->cmd->start(c) == 0) {
    moqc_client_config cc = {
        .uv = c->uv,
        .url = c->url,
        .tls = c->tls,
        .versions = c->n_versions ? c->versions : NULL,
        .n_versions = c->n_versions,
        .publish = c->cmd->publishes ? c->origin : NULL,
        .subscribe = c->cmd->subscribes ? c->origin : NULL,
        .timeout_ms = c->timeout_ms,
        .websocket_disabled = c->websocket_disabled,
        .websocket_delay_ms = c->websocket_delay_ms,
        .auth_token = c->auth_token,
        .on_connected = on_connected,
        .on_closed = on_closed,
        .ctx = c,
        .log = moqc_tool_logger(),
    };
    char msg[512] = "";
    int rv = moqc_client_connect(&cc, &c->client, msg, sizeof msg);
    if (rv != MOQC_OK) {
      c->client = NULL;
      cli_finish(c, 1, "cannot connect to %s: %s", c->url, msg[0] ? msg : moqc_err_str(rv));
    }
  } else if (!c->finishing) {
    cli_finish(c, 1, NULL);
  }
  uv_run(&c->loop, UV_RUN_DEFAULT);
  /* Bounded: a stuck handle (e.g. a blocking stdin read) must not hang exit. */
  for (int i = 0; i < 2000 && uv_run(&c->loop, UV_RUN_NOWAIT); i++) usleep(1000);
  if (uv_loop_close(&c->loop) != 0) moqc_log(MOQC_LOG_DEBUG, "event loop still busy at exit");
  return c->exit_code;
}

int main(int argc, char **argv) {
  static cli c;
  char err[768];
  signal(SIGPIPE, SIG_IGN);
  moqc_log_init("moqc", MOQC_LOG_WARN);
  if (argc > 1 && strcmp(argv[1], "token") == 0) return cli_token_main(argc - 1, argv + 1);
  c.group_frames = 1;
  c.wait_ns = 10000000000ull;
  c.drain_ns = 10000000000ull;
  c.wait_subscriber_ns = 60000000000ull;
  c.reorder_ms = 1000;
  int rv = parse_args(&c, argc, argv, err, sizeof err);
  if (rv == 1) {
    usage(stdout);
    return 0;
  }
  if (rv != 0) {
    fprintf(stderr, "moqc: %s\n", err);
    return 2;
  }
  int code = run(&c);
  moqc_log_flush();
  return code;
}
