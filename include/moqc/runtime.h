/* moqc — runtime: drive a moqc_env from a libuv loop.
 *
 * moqc_uv binds one moqc_env (model + sessions, sans-IO) to one uv_loop_t:
 *   - the env's clock follows the monotonic clock (uv_hrtime) and its timers
 *     fire from one uv_timer;
 *   - deferred model work (wakers, cross-thread proxy commands) runs in the
 *     same loop iteration it was scheduled in (uv_idle keeps poll from
 *     blocking while work is pending), and a uv_async wakes the loop when a
 *     proxy on another thread queues a frame.
 *
 * Threading: create, use and delete on the loop thread. The env's notify
 * function installed here is the only piece callable from other threads.
 */
#ifndef MOQC_RUNTIME_H
#define MOQC_RUNTIME_H

#include <stddef.h>

#include <uv.h>

#include "moqc/export.h"
#include "moqc/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct moqc_uv moqc_uv;

/* Create an env driven by loop. cache_budget as in moqc_env_config (0 =
 * unlimited). NULL on OOM or libuv failure. */
MOQC_API moqc_uv *moqc_uv_new(uv_loop_t *loop, size_t cache_budget);
/* The env (owned by the moqc_uv). */
MOQC_API moqc_env *moqc_uv_env(moqc_uv *u);
MOQC_API uv_loop_t *moqc_uv_loop(moqc_uv *u);
/* Run pending model work and due timers now (normally automatic). */
MOQC_API void moqc_uv_poll(moqc_uv *u);
/* Close the libuv handles; the moqc_uv (and its env) is freed from the close
 * callbacks, so keep running the loop until it returns. Every model object of
 * the env must already be deleted. */
MOQC_API void moqc_uv_del(moqc_uv *u);

#ifdef __cplusplus
}
#endif
#endif
