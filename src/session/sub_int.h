/* moqc session — the subscriber side: what the peer announces to us
 * (remote broadcasts), the tracks we subscribe to upstream and their groups,
 * FETCHes we issue. announce.c (sa_*), remote.c, group.c, sub_fetch.c. */
#ifndef MOQC_SESSION_SUB_INT_H
#define MOQC_SESSION_SUB_INT_H

#include "session/stream_int.h"

/* ---- frame receiver (group streams, FETCH responses) ----------------------- */

typedef struct frx {
  moqc_group_producer *g;
  moqc_frame_producer *f; /* chunked frame in progress */
  uint64_t remaining;     /* payload bytes left in the current frame */
  uint64_t cur_ts;
  uint64_t prev_ts;
  uint64_t timescale;
  bool in_payload;
} frx;

/* ---- subscriber side ---------------------------------------------------------- */

struct sub_announce {
  sobj obj;
  opener op;
  moqc_session *s;
  sstream *ss;
  uint64_t responder; /* lite-05 ANNOUNCE_OK hop id */
  bool ok_seen;
};

struct rbcast {
  sobj obj;
  moqc_link link; /* in session.sub.rbcast_list */
  moqc_session *s;
  char *path;
  moqc_broadcast_producer *bp;
  moqc_route route;
  moqc_link tracks; /* rtrack */
  bool ended;       /* peer ended it (finished), removed from the map */
  bool pushed;      /* IETF: announced by the peer's PUBLISH, its namespace not heard yet */
};

enum rt_state { RT_INFO, RT_LIVE, RT_DONE };

struct rtrack {
  sobj obj;
  moqc_link link; /* in rbcast.tracks */
  opener op;
  moqc_session *s;
  rbcast *rb;
  char *name;
  moqc_track_request *req; /* until accepted */
  moqc_track_producer *tp;
  moqc_track_info info;
  int state;        /* enum rt_state */
  sstream *info_ss; /* TRACK stream (lite-05) */
  sstream *sub_ss;  /* SUBSCRIBE stream */
  uint64_t sub_id;
  bool subscribed;        /* id registered */
  bool opening;           /* SUBSCRIBE/TRACK stream waiting for credit */
  bool ok_seen;           /* lite-03/04 SUBSCRIBE_OK */
  bool end_seen;          /* lite-05 SUBSCRIBE_END received ... */
  uint64_t end_group;     /* ... with this exclusive end */
  bool start_seen;        /* lite-05 SUBSCRIBE_START received ... */
  uint64_t start_group;   /* ... with this first group */
  uint64_t n_bound;       /* group streams bound to this subscription */
  bool draining;          /* no consumer left, but the track is complete:
                                let the last groups land, then close */
  bool fin_wait;          /* clean FIN without a final: groups may still come */
  uint64_t fin_deadline;  /* ... until this (SESS_SUB_FIN_MAX_NS after the FIN) */
  moqc_timer fin_timer;   /* fin_wait's grace, or drop_hold's */
  bool drop_hold;         /* the subscription was reset with Dropped while its broadcast
                            is still announced: the abort waits a moment for the
                            broadcast's re-announce (a replacement: the track ends
                            REPLACED through the origin), see rt_hold_drop */
  moqc_subscription sent; /* last parameters sent upstream */
  moqc_link groups;       /* group_in */
  /* FETCH upstream (lite-05, remote.c rt_fetch_check): groups a consumer asked
   * for below what the subscription delivers, one FETCH each, at most
   * SESS_UPSTREAM_FETCH_INFLIGHT at once, from the queue [fq_next, fq_end]. */
  uint64_t fetch_low; /* lowest group queued so far (MOQC_GROUP_NONE: none) */
  uint64_t fq_next;   /* next group to FETCH ... */
  uint64_t fq_end;    /* ... up to this one (queue empty: fq_next > fq_end) */
  size_t fetches;     /* our FETCHes in flight for this track (sub_fetch.rt) */
};

struct group_in {
  sobj obj;
  moqc_link link; /* in rtrack.groups */
  sstream *ss;
  rtrack *rt;
  frx rx;
};

struct sub_fetch {
  sobj obj;
  moqc_link link;
  opener op;
  moqc_session *s;
  sstream *ss;
  char *path, *track;
  uint64_t seq;
  uint8_t priority;
  frx rx;
  rtrack *rt; /* FETCH upstream: the remote track the group goes into (NULL: an app's) */
};

/* The subscriber side of a session (moqc_session.sub). */
typedef struct sess_sub {
  moqc_origin *origin;   /* subscribe origin (referenced), NULL: we take nothing */
  sub_announce *ann;     /* our Announce stream (one) */
  moqc_smap rbcasts;     /* rbcast by path, while announced */
  moqc_link rbcast_list; /* every rbcast, until destroyed */
  size_t n_rbcasts;
  moqc_imap rtracks; /* rtrack by subscribe id, while subscribed */
  size_t n_rtracks;
  uint64_t next_id;    /* next subscribe id */
  moqc_link fetches;   /* sub_fetch */
  const char *refusal; /* why moqc__rb_announce last returned MOQC_ERR_BOUNDS (static) */
} sess_sub;

/* ---- announce.c ----------------------------------------------------------------- */

void moqc__sa_start(moqc_session *s);
void moqc__sa_destroy(moqc_session *s);

/* ---- remote.c ------------------------------------------------------------------- */

int moqc__rb_announce(moqc_session *s, const char *path, const moqc_route *route, int status);
/* IETF: the peer PUBLISHed a track of path: announce path unless it is (as
 * moqc__rb_announce). The namespace's own announcement (PUBLISH_NAMESPACE, a
 * NAMESPACE entry), which may come after the PUBLISH, then takes it over
 * instead of being a duplicate. */
int moqc__rb_announce_pushed(moqc_session *s, const char *path);
/* Hand the track requests already queued on path's broadcast to the
 * protocol now, instead of on the broadcast's waker. */
void moqc__rb_pump(moqc_session *s, const char *path);
/* True if the peer announced path to us (and has not ended it). */
bool moqc__rb_has(moqc_session *s, const char *path);
void moqc__rb_ended(moqc_session *s, const char *path);
void moqc__rb_drop_all(moqc_session *s, uint64_t code);
rtrack *moqc__rt_by_id(moqc_session *s, uint64_t id);
/* A group of rt ended: a draining track may close now. */
void moqc__rt_group_done(rtrack *rt);
/* A group stream of this subscription was bound to a new group. */
void moqc__rt_group_bound(rtrack *rt);
/* One of rt's FETCHes upstream ended (rt->fetches already decremented). */
void moqc__rt_fetch_done(rtrack *rt);

/* ---- group.c --------------------------------------------------------------------- */

/* Called when the rtrack lets go of its groups. */
void moqc__gi_cancel(group_in *gi, uint64_t code);
void moqc__sess_datagram(moqc_session *s, const uint8_t *p, size_t len);
void moqc__frx_init(frx *rx, moqc_group_producer *g, uint64_t timescale);
void moqc__frx_abort(frx *rx, uint64_t code);
/* Returns bytes consumed from p (or a negative error for the stream). */
int moqc__frx_feed(moqc_session *s, sstream *ss, frx *rx, const uint8_t *p, size_t len,
                   size_t *used);
/* Feed a data-mode stream's bytes into rx: FRX_MORE (keep going), FRX_FAILED
 * (the stream was stopped / reset and rx aborted, or the session failed),
 * FRX_END_OK / FRX_END_BAD (FIN: rx finished / aborted with WrongSize). */
enum { FRX_MORE, FRX_FAILED, FRX_END_OK, FRX_END_BAD };
int moqc__frx_stream_data(sstream *ss, frx *rx, const uint8_t *p, size_t len, bool fin);

/* ---- sub_fetch.c ------------------------------------------------------------------------ */

void moqc__sf_destroy_all(moqc_session *s);
/* FETCH upstream (lite-05): group seq of rt's track into gp (a group of rt's
 * track producer, taken over: finished or aborted with the FETCH). The FETCH
 * is counted in rt->fetches and reports its end with moqc__rt_fetch_done.
 * MOQC_OK, or MOQC_ERR_NOMEM / MOQC_ERR_BOUNDS (gp is then aborted). */
int moqc__sf_fetch_into(rtrack *rt, moqc_group_producer *gp, uint64_t seq, uint8_t priority);
/* Cancel every FETCH upstream of rt (the track is going). */
void moqc__sf_cancel_track(rtrack *rt);

#endif
