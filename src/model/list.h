/* moqc model — intrusive circular doubly-linked lists (internal).
 *
 * A list head and a node are the same type. A node that is not in a list is
 * self-linked (after moqc_link_init or moqc_list_remove), so "is it linked?"
 * is a pointer compare and removing an unlinked node is a no-op. Removal does
 * not need the head, which is what lets a consumer unlink itself from an
 * env's ready list (or a snapshot of it) when it is deleted.
 */
#ifndef MOQC_MODEL_LIST_H
#define MOQC_MODEL_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct moqc_link {
  struct moqc_link *prev, *next;
} moqc_link;

#define MOQC_CONTAINER_OF(ptr, type, member) \
  ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void moqc_link_init(moqc_link *n) { n->prev = n->next = n; }
static inline bool moqc_list_empty(const moqc_link *h) { return h->next == h; }
static inline bool moqc_link_linked(const moqc_link *n) { return n->next != n; }

static inline void moqc_list_push_back(moqc_link *h, moqc_link *n) {
  n->prev = h->prev;
  n->next = h;
  h->prev->next = n;
  h->prev = n;
}

static inline void moqc_list_remove(moqc_link *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = n;
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

/* Iterate allowing removal of the current node. */
#define MOQC_LIST_FOREACH_SAFE(it, nx, head) \
  for ((it) = (head)->next, (nx) = (it)->next; (it) != (head); (it) = (nx), (nx) = (it)->next)

#endif
