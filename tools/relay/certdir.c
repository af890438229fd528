/* moqc-relay: --tls-generate-dir DIR. A self-signed certificate generated at
 * start-up has a new fingerprint each time, which breaks every client that
 * pinned it (serverCertificateHashes, moqc --pin). With a state directory the
 * relay keeps DIR/cert.pem and DIR/key.pem and reuses them until they are
 * RELAY_CERT_MAX_AGE old; the certificate itself is valid 13 days from its
 * creation (moqc_cert_self_signed), so a reused one always has a day left.
 * A relay that runs longer than that needs a restart to get a new one. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "moqc/error.h"
#include "moqc/quic.h"
#include "relay.h"
#include "common/tool_util.h"

#define RELAY_CERT_MAX_AGE (12 * 24 * 3600)

static int generate(relay *r, char *err, size_t cap) {
  const relay_config *c = &r->cfg;
  char buf[sizeof c->tls_generate];
  const char *hosts[32];
  size_t n = 0;
  snprintf(buf, sizeof buf, "%s", c->tls_generate);
  for (char *save = NULL, *h = strtok_r(buf, ",", &save); h && n < 32;
       h = strtok_r(NULL, ",", &save))
    hosts[n++] = h;
  int rv = n ? moqc_cert_self_signed(hosts, n, &r->cert) : MOQC_ERR_INVAL;
  if (rv != MOQC_OK)
    snprintf(err, cap, "cannot generate a certificate for '%s': %s", c->tls_generate,
             moqc_err_str(rv));
  return rv;
}

/* A usable pair: both files there, the certificate young enough. */
static bool fresh(const char *cert, const char *key) {
  struct stat sc, sk;
  if (stat(cert, &sc) != 0 || stat(key, &sk) != 0) return false;
  time_t now = time(NULL);
  return sc.st_mtime <= now && now - sc.st_mtime < RELAY_CERT_MAX_AGE;
}

int relay_cert_from_dir(relay *r, char *err, size_t cap) {
  const char *dir = r->cfg.tls_generate_dir;
  assert(dir[0] && !r->cert);
  char cert[1100], key[1100], tcert[1110], tkey[1110];
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  if (fresh(cert, key)) {
    int rv = moqc_cert_load(cert, key, &r->cert);
    if (rv == MOQC_OK) {
      moqc_log(MOQC_LOG_INFO, "certificate: reusing %s", cert);
      return MOQC_OK;
    }
    moqc_log(MOQC_LOG_WARN, "certificate: cannot load %s (%s); generating a new one", cert,
             moqc_err_str(rv));
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    snprintf(err, cap, "--tls-generate-dir: cannot create '%s': %s", dir, strerror(errno));
    return MOQC_ERR_IO;
  }
  int rv = generate(r, err, cap);
  if (rv != MOQC_OK) return rv;
  /* Write both under temporary names, then rename: a crash half way never
   * leaves a certificate next to some other certificate's key. */
  snprintf(tcert, sizeof tcert, "%s.tmp", cert);
  snprintf(tkey, sizeof tkey, "%s.tmp", key);
  rv = moqc_cert_write_pem(r->cert, tcert, tkey);
  if (rv == MOQC_OK && (rename(tkey, key) != 0 || rename(tcert, cert) != 0)) rv = MOQC_ERR_IO;
  if (rv != MOQC_OK) {
    snprintf(err, cap, "--tls-generate-dir: cannot write %s / %s: %s", cert, key,
             rv == MOQC_ERR_IO ? strerror(errno) : moqc_err_str(rv));
    remove(tcert);
    remove(tkey);
    moqc_cert_unref(r->cert);
    r->cert = NULL;
    return rv;
  }
  moqc_log(MOQC_LOG_INFO, "certificate: generated for '%s', saved in %s", r->cfg.tls_generate, dir);
  return MOQC_OK;
}
