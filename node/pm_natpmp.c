/* NAT-PMP client for port mapping (RFC 6886, libnatpmp; see node/pm.h).
 * Runs in a libuv worker thread: it blocks in select(), bounded by
 * PM_NATPMP_WAIT_MS per request instead of libnatpmp's own schedule (nine
 * retries doubling from 250 ms, over two minutes). */
#include <arpa/inet.h>
#include <errno.h>
/* strnatpmperr() is declared only on request. */
#define ENABLE_STRNATPMPERR 1
#include <natpmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <time.h>

#include "node/pm.h"

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the answer to the request just sent. Returns 0 with *resp
 * filled, or a libnatpmp error / NATPMP_TRYAGAIN when the time is up. */
static int wait_answer(natpmp_t *n, natpmpresp_t *resp) {
  long long deadline = mono_ms() + PM_NATPMP_WAIT_MS;
  int r = NATPMP_TRYAGAIN;
  for (int rounds = 0; rounds < 64 && r == NATPMP_TRYAGAIN; rounds++) {
    struct timeval tv;
    long long left = deadline - mono_ms();
    fd_set fds;
    if (left <= 0)
      break;
    if (getnatpmprequesttimeout(n, &tv) < 0)
      return NATPMP_ERR_GETTIMEOFDAYERR;
    if ((long long)tv.tv_sec * 1000 + tv.tv_usec / 1000 > left) {
      tv.tv_sec = (time_t)(left / 1000);
      tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
    }
    FD_ZERO(&fds);
    FD_SET(n->s, &fds);
    if (select(n->s + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
      return NATPMP_ERR_RECVFROM;
    /* Also after a timeout: this is where libnatpmp resends. */
    r = readnatpmpresponseorretry(n, resp);
  }
  return r;
}

static const char *why(int r) {
  return r == NATPMP_TRYAGAIN ? "no answer from the gateway" : strnatpmperr(r);
}

void pm_natpmp_run(const struct nat_pm_req *req, struct nat_pm_result *res, char *err,
                   size_t errcap) {
  natpmp_t n;
  natpmpresp_t resp;
  int r;
  memset(res, 0, sizeof(*res));
  res->op = req->op;
  res->method = NAT_PM_NATPMP;
  err[0] = 0;
  /* The gateway is our default route's next hop (libnatpmp reads the
   * routing table); NAT-PMP speaks to nothing else. */
  if ((r = initnatpmp(&n, 0, 0)) < 0) {
    snprintf(err, errcap, "no default gateway for NAT-PMP: %s", strnatpmperr(r));
    return;
  }
  if (req->op == NAT_PM_OP_ADD) {
    if ((r = sendpublicaddressrequest(&n)) < 0 || (r = wait_answer(&n, &resp)) < 0) {
      snprintf(err, errcap, "public address request: %s", why(r));
      goto out;
    }
    rl_addr_set_ipv4(&res->external, ntohl(resp.pnu.publicaddress.addr.s_addr), 0);
    if ((r = sendnewportmappingrequest(&n, NATPMP_PROTOCOL_UDP, req->internal_port,
                                       req->external_port, req->lease_s)) < 0 ||
        (r = wait_answer(&n, &resp)) < 0) {
      snprintf(err, errcap, "UDP mapping request for port %u: %s", req->internal_port, why(r));
      goto out;
    }
    if (resp.pnu.newportmapping.mappedpublicport == 0 ||
        resp.pnu.newportmapping.lifetime == 0) {
      snprintf(err, errcap, "gateway granted no mapping (port %u, lifetime %u)",
               resp.pnu.newportmapping.mappedpublicport, resp.pnu.newportmapping.lifetime);
      goto out;
    }
    res->external.port = resp.pnu.newportmapping.mappedpublicport;
    res->lease_s = resp.pnu.newportmapping.lifetime;
    res->ok = true;
  } else {
    /* RFC 6886 3.4: lifetime 0 and external port 0 delete the mapping of
     * this internal port. */
    if ((r = sendnewportmappingrequest(&n, NATPMP_PROTOCOL_UDP, req->internal_port, 0, 0)) < 0 ||
        (r = wait_answer(&n, &resp)) < 0) {
      snprintf(err, errcap, "UDP mapping removal for port %u: %s", req->internal_port, why(r));
      goto out;
    }
    res->ok = true;
  }
out:
  closenatpmp(&n);
}
