/* DHT protocol messages (carried as OV_APP_DHT payloads of routed overlay
 * messages). Byte layouts: docs/dht.md.
 *
 *   STORE      requester -> key owner (routed OWNER): keep this record
 *   STORE_ACK  owner -> requester (EXACT): status, seq held, replica set
 *   GET        requester -> owner or a replica: send me the record at key
 *   GET_REPLY  -> requester (EXACT): status, replica set, record if found
 *   REPLICATE  holder -> replica (EXACT) or new owner (OWNER): keep this,
 *              no answer
 *
 * A decoded message points into the input buffer (rec); nothing is
 * copied or allocated. */
#ifndef RL_DHT_MSG_H
#define RL_DHT_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "dht/record.h"

#define DHT_MSG_VERSION 1
#define DHT_MAX_REPLICAS 8      /* k is configurable 3..8 */
#define DHT_MSG_HDR 6           /* version, type, txid */
/* The largest message: a GET_REPLY with a full replica set and record. */
#define DHT_MSG_MAX \
  (DHT_MSG_HDR + DHT_KEY_LEN + 1 + 1 + DHT_MAX_REPLICAS * RL_ID_LEN + 2 + DHT_REC_MAX)

enum dht_msg_type {
  DHT_MSG_STORE = 1,
  DHT_MSG_STORE_ACK = 2,
  DHT_MSG_GET = 3,
  DHT_MSG_GET_REPLY = 4,
  DHT_MSG_REPLICATE = 5
};

/* Status byte of STORE_ACK and GET_REPLY. */
enum dht_status {
  DHT_ST_OK = 0,        /* stored / found */
  DHT_ST_NOT_FOUND = 1, /* GET_REPLY: no live record at key */
  DHT_ST_STALE = 2,     /* STORE_ACK: a record with seq >= this one is held */
  DHT_ST_INVALID = 3,   /* STORE_ACK: the record did not verify */
  DHT_ST_FULL = 4,      /* STORE_ACK: the storer's store is full */
  DHT_ST_CONFLICT = 5   /* STORE_ACK: another member holds this VIP */
};

struct dht_msg {
  uint8_t type;                /* enum dht_msg_type */
  uint32_t txid;               /* request id, echoed by the answer */
  uint8_t key[DHT_KEY_LEN];    /* GET, STORE_ACK, GET_REPLY */
  uint8_t status;              /* STORE_ACK, GET_REPLY */
  uint64_t seq;                /* STORE_ACK: seq the storer now holds */
  uint8_t n_replicas;          /* STORE_ACK, GET_REPLY: owner first */
  uint8_t replicas[DHT_MAX_REPLICAS][RL_ID_LEN];
  const uint8_t *rec;          /* STORE, REPLICATE, GET_REPLY (may be NULL) */
  size_t rec_len;
};

/* Returns bytes written, RL_EINVAL (unknown type, too many replicas,
 * record longer than DHT_REC_MAX) or RL_ETOOBIG (cap). */
int dht_msg_encode(const struct dht_msg *m, uint8_t *out, size_t cap);
/* Parses one message; trailing bytes are rejected. 0, RL_ETRUNC (short,
 * bad lengths, bad version) or RL_EUNSUP (unknown type). Record bytes
 * are not parsed here (dht_record_decode). */
int dht_msg_decode(struct dht_msg *m, const uint8_t *in, size_t len);
/* The type byte of a message of our version, or 0 (short, other
 * version); nothing else is checked. */
uint8_t dht_msg_type(const uint8_t *in, size_t len);

#endif
