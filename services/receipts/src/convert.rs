//! Conversions between the receipts model and `chatflow.receipts.v1`.
//! Requests arriving over gRPC are converted here and then validated like
//! any other.

use chatflow_proto::receipts::v1 as pb;

use crate::{
    ConversationReceipts, ConversationUnread, DeliveredMark, MarkDelivered, MarkRead,
    MarkReadOutcome, MemberMarks, ReceiptsError, Snapshot, UnreadCounts,
};

pub(crate) fn mark_delivered_from_proto(request: pb::MarkDeliveredRequest) -> MarkDelivered {
    MarkDelivered {
        user_id: request.user_id,
        device_id: request.device_id,
        marks: request
            .marks
            .into_iter()
            .map(|mark| DeliveredMark {
                conversation_id: mark.conversation_id,
                seq: mark.seq,
            })
            .collect(),
    }
}

pub(crate) fn mark_delivered_to_proto(request: &MarkDelivered) -> pb::MarkDeliveredRequest {
    pb::MarkDeliveredRequest {
        user_id: request.user_id.clone(),
        device_id: request.device_id.clone(),
        marks: request
            .marks
            .iter()
            .map(|mark| pb::DeliveredMark {
                conversation_id: mark.conversation_id.clone(),
                seq: mark.seq,
            })
            .collect(),
    }
}

pub(crate) fn mark_read_from_proto(request: pb::MarkReadRequest) -> MarkRead {
    MarkRead {
        user_id: request.user_id,
        device_id: request.device_id,
        conversation_id: request.conversation_id,
        seq: request.seq,
    }
}

pub(crate) fn mark_read_to_proto(request: &MarkRead) -> pb::MarkReadRequest {
    pb::MarkReadRequest {
        user_id: request.user_id.clone(),
        device_id: request.device_id.clone(),
        conversation_id: request.conversation_id.clone(),
        seq: request.seq,
    }
}

fn member_to_proto(marks: &MemberMarks) -> pb::MemberMarks {
    pb::MemberMarks {
        user_id: marks.user_id.clone(),
        delivered_seq: marks.delivered_seq,
        read_seq: marks.read_seq,
    }
}

fn member_from_proto(marks: pb::MemberMarks) -> MemberMarks {
    MemberMarks {
        user_id: marks.user_id,
        delivered_seq: marks.delivered_seq,
        read_seq: marks.read_seq,
    }
}

pub(crate) fn mark_read_response(outcome: &MarkReadOutcome) -> pb::MarkReadResponse {
    pb::MarkReadResponse {
        marks: Some(member_to_proto(&outcome.marks)),
        unread: outcome.unread,
    }
}

pub(crate) fn mark_read_outcome(
    response: pb::MarkReadResponse,
) -> Result<MarkReadOutcome, ReceiptsError> {
    let marks = response
        .marks
        .ok_or_else(|| ReceiptsError::Internal("MarkRead answered without marks".into()))?;
    Ok(MarkReadOutcome {
        marks: member_from_proto(marks),
        unread: response.unread,
    })
}

pub(crate) fn snapshot_to_proto(snapshot: &Snapshot) -> pb::SnapshotResponse {
    pb::SnapshotResponse {
        conversations: snapshot
            .conversations
            .iter()
            .map(|c| pb::ConversationReceipts {
                conversation_id: c.conversation_id.clone(),
                members: c.members.iter().map(member_to_proto).collect(),
                unread: c.unread,
            })
            .collect(),
        reads_shared: snapshot.reads_shared,
    }
}

pub(crate) fn snapshot_from_proto(response: pb::SnapshotResponse) -> Snapshot {
    Snapshot {
        conversations: response
            .conversations
            .into_iter()
            .map(|c| ConversationReceipts {
                conversation_id: c.conversation_id,
                members: c.members.into_iter().map(member_from_proto).collect(),
                unread: c.unread,
            })
            .collect(),
        reads_shared: response.reads_shared,
    }
}

pub(crate) fn unread_to_proto(counts: &UnreadCounts) -> pb::UnreadResponse {
    pb::UnreadResponse {
        total: counts.total,
        conversations: counts
            .conversations
            .iter()
            .map(|c| pb::ConversationUnread {
                conversation_id: c.conversation_id.clone(),
                unread: c.unread,
                read_seq: c.read_seq,
            })
            .collect(),
    }
}

pub(crate) fn unread_from_proto(response: pb::UnreadResponse) -> UnreadCounts {
    UnreadCounts {
        total: response.total,
        conversations: response
            .conversations
            .into_iter()
            .map(|c| ConversationUnread {
                conversation_id: c.conversation_id,
                unread: c.unread,
                read_seq: c.read_seq,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_with_hidden_reads() {
        let snapshot = Snapshot {
            conversations: vec![ConversationReceipts {
                conversation_id: "g1".into(),
                members: vec![
                    MemberMarks {
                        user_id: "ann".into(),
                        delivered_seq: 3,
                        read_seq: Some(2),
                    },
                    MemberMarks {
                        user_id: "bob".into(),
                        delivered_seq: 3,
                        read_seq: None,
                    },
                ],
                unread: 1,
            }],
            reads_shared: true,
        };
        assert_eq!(snapshot_from_proto(snapshot_to_proto(&snapshot)), snapshot);
        let request = MarkDelivered {
            user_id: "ann".into(),
            device_id: "d".into(),
            marks: vec![DeliveredMark {
                conversation_id: "g1".into(),
                seq: 4,
            }],
        };
        assert_eq!(
            mark_delivered_from_proto(mark_delivered_to_proto(&request)),
            request
        );
    }
}
