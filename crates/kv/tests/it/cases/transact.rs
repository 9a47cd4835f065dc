//! All-or-nothing transactions.

use chatflow_errors::ErrorKind;
use chatflow_kv::{Condition, Item, KvError, KvStoreRef, Query, TxOp};

use super::assert_kind;
use crate::{COUNTERS, MESSAGES, message};

pub async fn transact_commits_every_op(store: &KvStoreRef) {
    store
        .put(MESSAGES, message("tx", 1), Condition::IfAbsent)
        .await
        .unwrap();
    store
        .put(MESSAGES, message("tx", 2), Condition::IfAbsent)
        .await
        .unwrap();
    store
        .put(
            COUNTERS,
            Item::new("conv#tx", "head", "h"),
            Condition::IfAbsent,
        )
        .await
        .unwrap();
    let ops = vec![
        TxOp::Put {
            table: MESSAGES.into(),
            item: message("tx", 3),
            condition: Condition::IfAbsent,
        },
        TxOp::Delete {
            table: MESSAGES.into(),
            pk: "conv#tx".into(),
            sk: message("tx", 1).sk,
            condition: Condition::IfVersion(1),
        },
        TxOp::ConditionCheck {
            table: MESSAGES.into(),
            pk: "conv#tx".into(),
            sk: message("tx", 2).sk,
            condition: Condition::IfVersion(1),
        },
        TxOp::Put {
            table: COUNTERS.into(),
            item: Item::new("conv#tx", "head", "h2"),
            condition: Condition::IfVersion(1),
        },
    ];
    store.transact(ops).await.unwrap();
    let page = store.query(MESSAGES, Query::new("conv#tx")).await.unwrap();
    let sks: Vec<_> = page.items.iter().map(|i| i.sk.clone()).collect();
    assert_eq!(sks, [message("tx", 2).sk, message("tx", 3).sk]);
    let head = store
        .get(COUNTERS, "conv#tx", "head")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((head.version, head.data.as_ref()), (2, b"h2".as_ref()));
    store.transact(Vec::new()).await.unwrap();
}

pub async fn transact_cancel_writes_nothing(store: &KvStoreRef) {
    store
        .put(MESSAGES, message("tx", 1), Condition::IfAbsent)
        .await
        .unwrap();
    let ops = vec![
        TxOp::Put {
            table: MESSAGES.into(),
            item: message("tx", 2),
            condition: Condition::IfAbsent,
        },
        TxOp::Put {
            table: COUNTERS.into(),
            item: Item::new("conv#tx", "head", "h"),
            condition: Condition::None,
        },
        TxOp::Delete {
            table: MESSAGES.into(),
            pk: "conv#tx".into(),
            sk: message("tx", 1).sk,
            condition: Condition::None,
        },
        // Fails: message 9 does not exist.
        TxOp::ConditionCheck {
            table: MESSAGES.into(),
            pk: "conv#tx".into(),
            sk: message("tx", 9).sk,
            condition: Condition::IfVersion(1),
        },
    ];
    let err = assert_kind(store.transact(ops).await, ErrorKind::Conflict);
    match err {
        KvError::TransactionCanceled { op, reason } => {
            assert_eq!(op, 3);
            assert!(reason.contains("ConditionalCheckFailed"), "{reason}");
        }
        other => panic!("expected TransactionCanceled, got {other}"),
    }
    let page = store.query(MESSAGES, Query::new("conv#tx")).await.unwrap();
    assert_eq!(page.items.len(), 1, "nothing written, nothing deleted");
    assert!(
        store
            .get(COUNTERS, "conv#tx", "head")
            .await
            .unwrap()
            .is_none()
    );
    // Two ops on one item, or too many ops, are refused before the call.
    let twice = vec![
        TxOp::Put {
            table: MESSAGES.into(),
            item: message("tx", 5),
            condition: Condition::None,
        },
        TxOp::Delete {
            table: MESSAGES.into(),
            pk: "conv#tx".into(),
            sk: message("tx", 5).sk,
            condition: Condition::None,
        },
    ];
    assert_kind(store.transact(twice).await, ErrorKind::InvalidArgument);
    let many = (0..101)
        .map(|seq| TxOp::Put {
            table: MESSAGES.into(),
            item: message("tx", 100 + seq),
            condition: Condition::None,
        })
        .collect();
    assert_kind(store.transact(many).await, ErrorKind::InvalidArgument);
}
