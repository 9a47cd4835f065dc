//! `CachedGroups` against a counting stand-in for the groups service, fed
//! invalidations through a real bus: the in-process one and Kafka (with
//! `--features kafka`). Written once in [`cache_suite`] and instantiated per backend.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use async_trait::async_trait;
use chatflow_groups_client::{
    Action, ClientError, Conversation, ConversationKind, Decision, DenyReason, GroupsClient,
    Member, Members, Role,
};

/// Answers like the service would for one group whose only member is
/// `member`, and counts the calls that reach it.
#[derive(Default)]
pub struct Counting {
    pub calls: AtomicUsize,
    pub version: AtomicU64,
}

impl Counting {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl GroupsClient for Counting {
    async fn authorize(&self, user: &str, _c: &str, _a: Action) -> Result<Decision, ClientError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let version = self.version.load(Ordering::SeqCst);
        Ok(if user == "member" {
            Decision::allow(Role::Member, version)
        } else {
            Decision::deny(DenyReason::NotMember, None, version)
        })
    }

    async fn members(&self, _c: &str) -> Result<Members, ClientError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Members {
            members: vec![Member {
                user_id: "member".into(),
                role: Role::Member,
            }],
            membership_version: self.version.load(Ordering::SeqCst),
        })
    }

    async fn ensure_direct(&self, a: &str, b: &str) -> Result<Conversation, ClientError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Conversation {
            conversation_id: chatflow_groups_client::direct_conversation_id(a, b)?,
            kind: ConversationKind::Direct,
            membership_version: 1,
            member_ids: vec![a.into(), b.into()],
            created: true,
        })
    }
}

/// Instantiates the cache tests for one backend kind.
macro_rules! cache_suite {
    ($kind:expr) => {
        use std::sync::Arc;
        use std::time::Duration;

        use chatflow_events::OutgoingRecord;
        use chatflow_groups_client::{
            Action, CacheOptions, CachedGroups, GroupsClient, MEMBERSHIP_CHANGED_TOPIC,
        };
        use chatflow_proto::groups::v1 as pb;
        use chatflow_testkit::TestBackends;
        use prost::Message;
        use tokio_util::sync::CancellationToken;

        use crate::Counting;

        const GROUP: &str = "g_0123456789abcdef0123456789abcdef";
        const OTHER: &str = "g_fedcba9876543210fedcba9876543210";

        async fn setup() -> (TestBackends, Arc<Counting>, CachedGroups, CancellationToken) {
            let backends = TestBackends::new($kind).await;
            let inner = Arc::new(Counting::default());
            let stop = CancellationToken::new();
            let cached = CachedGroups::spawn(
                inner.clone(),
                backends.bus.clone(),
                CacheOptions::default(),
                stop.clone(),
            )
            .await
            .unwrap();
            (backends, inner, cached, stop)
        }

        async fn announce(backends: &TestBackends, key: &str, payload: Vec<u8>) {
            backends
                .bus
                .publish(OutgoingRecord::new(
                    MEMBERSHIP_CHANGED_TOPIC,
                    key.as_bytes(),
                    payload,
                ))
                .await
                .unwrap();
        }

        fn change(conversation: &str, version: u64) -> Vec<u8> {
            let event = pb::MembershipChanged {
                conversation_id: conversation.into(),
                membership_version: version,
                ..Default::default()
            };
            chatflow_outbox::envelope_for(MEMBERSHIP_CHANGED_TOPIC, "groups", conversation, &event)
                .encode_to_vec()
        }

        async fn next_invalidation(counter: &mut tokio::sync::watch::Receiver<u64>) {
            tokio::time::timeout(Duration::from_secs(15), counter.changed())
                .await
                .expect("no invalidation")
                .unwrap();
        }

        #[tokio::test]
        async fn answers_are_cached_until_their_conversation_changes() {
            let (backends, inner, cached, stop) = setup().await;
            let mut invalidations = cached.invalidations();
            for _ in 0..3 {
                assert!(
                    cached
                        .authorize("member", GROUP, Action::Post)
                        .await
                        .unwrap()
                        .allowed
                );
                assert!(
                    !cached
                        .authorize("stranger", GROUP, Action::Read)
                        .await
                        .unwrap()
                        .allowed
                );
                assert!(cached.members(GROUP).await.unwrap().contains("member"));
            }
            assert_eq!(inner.calls(), 3, "one call per distinct question");
            assert_eq!(cached.len(), 3);
            cached
                .authorize("member", OTHER, Action::Post)
                .await
                .unwrap();

            announce(&backends, GROUP, change(GROUP, 2)).await;
            next_invalidation(&mut invalidations).await;
            assert_eq!(
                cached.len(),
                1,
                "only the other conversation's answer is left"
            );
            let before = inner.calls();
            cached
                .authorize("member", GROUP, Action::Post)
                .await
                .unwrap();
            cached
                .authorize("member", OTHER, Action::Post)
                .await
                .unwrap();
            assert_eq!(
                inner.calls(),
                before + 1,
                "the changed conversation is asked again"
            );

            // An event that cannot be read still invalidates by its key.
            announce(&backends, OTHER, b"\xff\xff".to_vec()).await;
            next_invalidation(&mut invalidations).await;
            let before = inner.calls();
            cached
                .authorize("member", OTHER, Action::Post)
                .await
                .unwrap();
            assert_eq!(inner.calls(), before + 1);
            // Creating conversations is never cached.
            cached.ensure_direct("a", "b").await.unwrap();
            cached.ensure_direct("a", "b").await.unwrap();
            assert_eq!(inner.calls(), before + 3);
            // Without its feed (after shutdown) the cache stops answering itself.
            stop.cancel();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                let before = inner.calls();
                cached
                    .authorize("member", GROUP, Action::Post)
                    .await
                    .unwrap();
                cached
                    .authorize("member", GROUP, Action::Post)
                    .await
                    .unwrap();
                if inner.calls() == before + 2 {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "still served from cache after shutdown"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(cached.is_empty());
        }

        #[tokio::test]
        async fn the_size_bound_and_ttl_hold() {
            let backends = TestBackends::new($kind).await;
            let inner = Arc::new(Counting::default());
            let stop = CancellationToken::new();
            let options = CacheOptions {
                max_entries: 2,
                ttl: Duration::from_secs(3600),
            };
            let small =
                CachedGroups::spawn(inner.clone(), backends.bus.clone(), options, stop.clone())
                    .await
                    .unwrap();
            for conversation in [GROUP, OTHER, "g_00000000000000000000000000000000"] {
                small
                    .authorize("member", conversation, Action::Read)
                    .await
                    .unwrap();
            }
            assert_eq!(small.len(), 2);
            let options = CacheOptions {
                max_entries: 100,
                ttl: Duration::ZERO,
            };
            let expiring =
                CachedGroups::spawn(inner.clone(), backends.bus.clone(), options, stop.clone())
                    .await
                    .unwrap();
            let before = inner.calls();
            expiring
                .authorize("member", GROUP, Action::Read)
                .await
                .unwrap();
            expiring
                .authorize("member", GROUP, Action::Read)
                .await
                .unwrap();
            assert_eq!(inner.calls(), before + 2, "expired answers are not served");
            stop.cancel();
        }
    };
}

mod embedded {
    cache_suite!(chatflow_testkit::BackendKind::Embedded);
}

#[cfg(feature = "kafka")]
mod real {
    cache_suite!(chatflow_testkit::BackendKind::Real);
}
