/* moqc core — the intrusive circular doubly-linked list (internal).
 *
 * The one list of the library (model and session both use it). A list head and
 * a node are the same type. A node that is not in a list is self-linked (after
 * moqc_link_init or moqc_list_remove), so "is it linked?" is a pointer compare.
 * moqc_list_remove asserts the node is linked; moqc_list_unlink is the
 * tolerant form for a node that may or may not be in a list (deletion paths).
 * Removal does not need the head, which is what lets an object unlink itself
 * from whatever list (or snapshot of a list) it is in when it is deleted.
 *
 * Nothing here allocates. A node must be initialised (moqc_link_init) before
 * it is tested or removed; a zeroed node (calloc) may be pushed as it is.
 * Asserted: a pushed node is unlinked (self-linked or zeroed: a node in two
 * lists at once corrupts both), a removed node is linked, and the head's own
 * links are consistent. A caller that rebuilds a list from scratch unlinks (or
 * re-initialises) each node first.
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

/* Fit to be pushed: self-linked (initialised, or removed from its last list)
 * or all-zero (a node in a freshly calloc'd object, never linked). A node
 * that still points into a list is refused: pushing it would corrupt that
 * list, or reveal a caller that lost track of where the node is. */
static inline bool moqc__link_unlinked(const moqc_link *n) {
  return (n->next == n && n->prev == n) || (n->next == NULL && n->prev == NULL);
}

static inline void moqc_list_push_back(moqc_link *h, moqc_link *n) {
  assert(h->next && h->prev && h->prev->next == h);
  assert(moqc__link_unlinked(n) && "pushing a node that is still linked (or stale)");
  n->prev = h->prev;
  n->next = h;
  h->prev->next = n;
  h->prev = n;
}

static inline void moqc_list_push_front(moqc_link *h, moqc_link *n) {
  assert(h->next && h->prev && h->next->prev == h);
  assert(moqc__link_unlinked(n) && "pushing a node that is still linked (or stale)");
  n->next = h->next;
  n->prev = h;
  h->next->prev = n;
  h->next = n;
}

/* Unlink n from its list. n must be linked (in a list, not self-linked). */
static inline void moqc_list_remove(moqc_link *n) {
  assert(n->next && n->prev && "removing an uninitialised node");
  assert(n->next != n && "removing a node that is not linked");
  assert(n->next->prev == n && n->prev->next == n);
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = n;
}

/* Unlink n if it is in a list; a no-op for an unlinked (self-linked) node. */
static inline void moqc_list_unlink(moqc_link *n) {
  if (moqc_link_linked(n)) moqc_list_remove(n);
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
