/* Replay window with OpenVPN's UDP "backtrack" semantics (packet_id.c).
 *
 * Sequence rule: a bitmap of DC_REPLAY_WINDOW ids below and including the
 * highest accepted id; bit (id % WINDOW) says "seen". Ids above the highest
 * are always new; ids WINDOW or more below it are too old.
 *
 * Time rule: OpenVPN stores, per window slot, when it was received, and every
 * 5 s expires the newest slot received more than t seconds ago together with
 * all older slots. The newest such slot is exactly "the highest id as of
 * now - t" (highest only grows, and it was received no later than then), so
 * instead of 2048 timestamps we keep a short history of (time, highest)
 * marks, one per clock second in which the highest grew, and expire every id <= the
 * highest of the newest mark older than t. That is OpenVPN's rule at 1 s
 * granularity instead of its 5 s reaping interval. */
#include <ringlan/error.h>
#include <string.h>

#include "crypto/dc.h"
#include "util/env.h"

#define WORDS (DC_REPLAY_WINDOW / 64)
#define TIME_NS ((uint64_t)DC_REPLAY_TIME_S * NS_PER_S)
#define MARK_NS NS_PER_S

_Static_assert(DC_REPLAY_WINDOW % 64 == 0, "window is whole words");
_Static_assert(DC_REPLAY_MARKS >= DC_REPLAY_TIME_S + 3, "marks reach t seconds back");

void dc_replay_init(struct dc_replay *r) { memset(r, 0, sizeof(*r)); }

/* Ids <= the returned value are expired by the time rule at now_ns. */
static uint64_t replay_time_floor(const struct dc_replay *r, uint64_t now_ns) {
  uint64_t floor = r->floor;
  for (unsigned i = 0; i < r->nmarks; i++) {
    unsigned k = (r->mark_head + DC_REPLAY_MARKS - i) % DC_REPLAY_MARKS;
    /* OpenVPN: expired when received_at + t < now (strict). */
    if (r->marks[k].at_ns < now_ns && now_ns - r->marks[k].at_ns > TIME_NS) {
      if (r->marks[k].highest > floor)
        floor = r->marks[k].highest;
      break; /* marks are newest first: the first old one is the newest old one */
    }
  }
  return floor;
}

static bool replay_bit(const struct dc_replay *r, uint64_t id) {
  uint64_t b = id % DC_REPLAY_WINDOW;
  return (r->bits[b / 64] >> (b % 64)) & 1;
}

int dc_replay_check(const struct dc_replay *r, uint64_t pid, uint64_t now_ns) {
  if (pid == 0)
    return RL_EREPLAY; /* never sent: the send counter starts at 1 */
  if (pid > r->highest)
    return 0;
  if (r->highest - pid >= DC_REPLAY_WINDOW)
    return RL_EREPLAY;
  if (replay_bit(r, pid))
    return RL_EREPLAY;
  if (pid <= replay_time_floor(r, now_ns))
    return RL_EREPLAY;
  return 0;
}

/* Clears the bits of ids (from, to] as the window slides up to `to`. */
static void replay_slide(struct dc_replay *r, uint64_t from, uint64_t to) {
  if (to - from >= DC_REPLAY_WINDOW) {
    memset(r->bits, 0, sizeof(r->bits));
    return;
  }
  uint64_t id = from + 1;
  while (id <= to) {
    uint64_t b = id % DC_REPLAY_WINDOW;
    if (b % 64 == 0 && to - id >= 63) {
      r->bits[b / 64] = 0; /* whole word at once */
      id += 64;
    } else {
      r->bits[b / 64] &= ~(1ull << (b % 64));
      id++;
    }
  }
}

/* One mark per clock second: a later update in the same second overwrites
 * the mark (its at_ns stays truthful: highest arrived at at_ns). With marks
 * in distinct seconds, TIME_S + 3 of them always include the newest mark
 * older than TIME_S, if one was ever made. */
static void replay_mark(struct dc_replay *r, uint64_t now_ns) {
  if (r->nmarks > 0) {
    unsigned h = r->mark_head;
    if (r->marks[h].at_ns / MARK_NS == now_ns / MARK_NS) {
      r->marks[h].at_ns = now_ns;
      r->marks[h].highest = r->highest;
      return;
    }
    r->mark_head = (uint8_t)((h + 1) % DC_REPLAY_MARKS);
  }
  if (r->nmarks < DC_REPLAY_MARKS)
    r->nmarks++;
  r->marks[r->mark_head].at_ns = now_ns;
  r->marks[r->mark_head].highest = r->highest;
}

void dc_replay_update(struct dc_replay *r, uint64_t pid, uint64_t now_ns) {
  /* An id outside the window has no slot; recording it would mark a newer
   * id's slot as seen. check() never lets one through. */
  if (pid == 0 || (pid <= r->highest && r->highest - pid >= DC_REPLAY_WINDOW))
    return;
  /* Keep what the time rule already expired before marks are overwritten. */
  r->floor = replay_time_floor(r, now_ns);
  if (pid > r->highest) {
    replay_slide(r, r->highest, pid);
    r->highest = pid;
    r->highest_at_ns = now_ns;
    replay_mark(r, now_ns);
  }
  uint64_t b = pid % DC_REPLAY_WINDOW;
  r->bits[b / 64] |= 1ull << (b % 64);
}
