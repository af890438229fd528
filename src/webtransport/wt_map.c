/* moqc transport — WebTransport adapter: allocation helpers and the stream
 * table's teardown (the table is a core/imap.h map). */
#include "core/mem.h"
#include "webtransport/wt_internal.h"

void *moqc__wt_alloc(size_t n) { return moqc_calloc(1, n); }

void moqc__wt_free(void *p) { moqc_free(p); }

void moqc__wt_streams_free(moqc_imap *m) {
  moqc_imap_it it;
  void *s;
  moqc__imap_it_init(m, &it);
  while (moqc__imap_next(m, &it, NULL, &s)) moqc__wt_stream_free(s);
  moqc__imap_free(m);
}
