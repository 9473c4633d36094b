/* Short names for the generated protobuf-c types, and the two places that
 * pack and unpack them: size checked, capped, NULL checked. A message built
 * by hand (edge.c) has every string and array malloc'd, so the generated
 * free_unpacked frees it too. */
#ifndef ORCH_PB_H
#define ORCH_PB_H

#include <stddef.h>
#include <stdint.h>

#include "orchestrator/v1/orchestrator.pb-c.h"
#include "status.h"

typedef Orchestrator__V1__Requirement pb_requirement;
typedef Orchestrator__V1__RequirementState pb_state;
typedef Orchestrator__V1__Metadata pb_metadata;
typedef Orchestrator__V1__Result pb_result;
typedef Orchestrator__V1__Verdict pb_verdict;
typedef Orchestrator__V1__StepResult pb_step;
typedef Orchestrator__V1__AgentError pb_error;
typedef Orchestrator__V1__Heartbeat pb_heartbeat;
typedef Orchestrator__V1__SpawnRequest pb_spawn;
typedef Orchestrator__V1__Alert pb_alert;
typedef Orchestrator__V1__BudgetUsage pb_budget;
typedef Orchestrator__V1__ClassifyReason pb_reason;

/* Largest protobuf message any service unpacks. */
#define PB_MAX_MSG (4u << 20)

/* Packs msg into a new buffer (*buf owned by the caller). Fails when the
 * packed size differs from get_packed_size. */
orch_status pb_pack(const ProtobufCMessage *msg, uint8_t **buf, size_t *len);

/* Unpacks with the size capped at cap before protobuf-c sees the data.
 * Returns NULL with err filled on failure; free with protobuf_c_message_free_unpacked. */
ProtobufCMessage *pb_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                            size_t cap, char err[ERR_LEN]);

/* protobuf-c hands strings over NUL-terminated, so a string field holding a
 * NUL byte arrives cut short without a word. Walks the wire form of a
 * message that unpacked (data, len) and returns 1 when a string field, at
 * any depth, holds a NUL, with its path ("metadata.extra.value") in field;
 * -1 when the bytes cannot be walked (groups, a cut-off field); else 0. */
int pb_string_has_nul(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, char *field,
                      size_t field_len);

/* Sets a string field to a malloc'd copy (freeing what was there, unless it
 * is protobuf-c's shared empty string). */
void pb_set_str(char **field, const char *value);

/* Appends a malloc'd copy of value to a repeated string field. */
void pb_add_str(char ***arr, size_t *n, const char *value);

#endif
