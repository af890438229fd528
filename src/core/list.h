/* moqc core — the intrusive circular doubly-linked list (internal).
 *
 * The one list of the library (model and session both use it). A list head and
 * a node are the same type. A node that is not in a list is self-linked (after
 * moqc_link_init or moqc_list_remove), so "is it linked?" is a pointer compare
 * and removing an unlinked node is a no-op. Removal does not need the head,
 * which is what lets an object unlink itself from whatever list (or snapshot
 * of a list) it is in when it is deleted.
 *
 * Nothing here allocates. A node must be initialised (moqc_link_init, or
 * zeroed and then initialised) before it is tested. Pushing re-links the node
 * whatever it pointed to before (callers that rebuild a list from scratch rely
 * on it); the head's own links are asserted consistent.
 */
#ifndef MOQC_CORE_LIST_H
#define MOQC_CORE_LIST_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct moqc_link {
  struct moqc_link *prev, *next;
} moqc_link;

#define MOQC_CONTAINER_OF(ptr, type, member) \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void moqc_link_init(moqc_link *n) { n->prev = n->next = n; }
static inline bool moqc_list_empty(const moqc_link *h) { return h->next == h; }
static inline bool moqc_link_linked(const moqc_link *n) { return n->next != n; }

static inline void moqc_list_push_back(moqc_link *h, moqc_link *n) {
  assert(h->next && h->prev && h->prev->next == h);
  n->prev = h->prev;
  n->next = h;
  h->prev->next = n;
  h->prev = n;
}

static inline void moqc_list_push_front(moqc_link *h, moqc_link *n) {
  assert(h->next && h->prev && h->next->prev == h);
  n->next = h->next;
  n->prev = h;
  h->next->prev = n;
  h->next = n;
}

static inline void moqc_list_remove(moqc_link *n) {
  assert(n->next->prev == n && n->prev->next == n);
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = n;
}

/* The first node (unlinked), or NULL if the list is empty. */
static inline moqc_link *moqc_list_pop_front(moqc_link *h) {
  if (moqc_list_empty(h)) return NULL;
  moqc_link *n = h->next;
  moqc_list_remove(n);
  return n;
}

/* Move every node of src to the back of dst; src becomes empty. */
static inline void moqc_list_splice(moqc_link *dst, moqc_link *src) {
  if (moqc_list_empty(src)) return;
  src->next->prev = dst->prev;
  dst->prev->next = src->next;
  src->prev->next = dst;
  dst->prev = src->prev;
  moqc_link_init(src);
}

/* Iterate, allowing removal of the current node (it, nx: moqc_link *). */
#define MOQC_LIST_FOREACH_SAFE(it, nx, head) \
  for ((it) = (head)->next, (nx) = (it)->next; (it) != (head); (it) = (nx), (nx) = (it)->next)

/* The same, declaring it and nx in the loop. */
#define MOQC_LIST_FOREACH_SAFE_DECL(it, nx, head) \
  for (moqc_link *it = (head)->next, *nx = it->next; it != (head); it = nx, nx = it->next)

#endif
