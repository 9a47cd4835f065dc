//! Watches: coalescing, bounded buffers, limits, and privacy (static rules,
//! invalidation by hand and by profile events).

/// Instantiates the watch tests for one backend kind.
#[macro_export]
macro_rules! watches_suite {
    ($kind:expr) => {
        use std::time::{Duration, Instant};

        use chatflow_errors::{ErrorKind, HasKind};
        use chatflow_presence::{Audience, PresenceSettings, PresenceView, Status, Watch};

        use $crate::support::{Cluster, TTL, eventually, settings, user, wait_status};

        /// Every update that arrives within `window`.
        async fn drain(watch: &mut Watch, window: Duration) -> Vec<PresenceView> {
            let deadline = tokio::time::Instant::now() + window;
            let mut got = Vec::new();
            while let Ok(Some(update)) = tokio::time::timeout_at(deadline, watch.recv()).await {
                got.push(update);
            }
            got
        }

        async fn next(watch: &mut Watch) -> PresenceView {
            tokio::time::timeout(TTL * 2, watch.recv())
                .await
                .expect("an update")
                .expect("open")
        }

        #[tokio::test]
        async fn flapping_is_coalesced_to_the_final_state() {
            let cluster = Cluster::new($kind).await;
            let coalesce = Duration::from_secs(1);
            let tuned = PresenceSettings {
                coalesce,
                ..settings()
            };
            let a = cluster
                .node_with(tuned.clone(), cluster.stop.child_token())
                .await;
            let b = cluster.node_with(tuned, cluster.stop.child_token()).await;
            let (viewer, ann) = (user(), user());
            let phone = a.connect(&ann, "phone").unwrap();
            wait_status(&b, &ann, Status::Online).await;
            let mut local = a.watch(&viewer, vec![ann.clone()]).await.unwrap();
            let mut remote = b.watch(&viewer, vec![ann.clone()]).await.unwrap();
            assert_eq!(remote.initial()[0].status, Status::Online);

            let started = Instant::now();
            for i in 0..50 {
                phone.set_status(if i % 2 == 0 {
                    Status::Away
                } else {
                    Status::Online
                });
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            phone.set_status(Status::Away);
            assert!(
                started.elapsed() < coalesce,
                "flapping took {:?}",
                started.elapsed()
            );
            for watch in [&mut local, &mut remote] {
                let got = drain(watch, coalesce * 3).await;
                assert!(!got.is_empty() && got.len() <= 2, "{got:?}");
                assert_eq!(got.last().map(|v| v.status), Some(Status::Away), "{got:?}");
            }
            // Quiet afterwards, and nothing more once the state is settled.
            assert!(drain(&mut remote, coalesce).await.is_empty());
        }

        #[tokio::test]
        async fn a_full_watch_buffer_drops_instead_of_blocking() {
            let cluster = Cluster::new($kind).await;
            let tuned = PresenceSettings {
                watch_buffer: 1,
                ..settings()
            };
            let node = cluster.node_with(tuned, cluster.stop.child_token()).await;
            let other = cluster.node().await;
            let viewer = user();
            let users: Vec<String> = (0..3).map(|_| user()).collect();
            let mut watch = node.watch(&viewer, users.clone()).await.unwrap();
            let guards: Vec<_> = users
                .iter()
                .map(|u| node.connect(u, "phone").unwrap())
                .collect();
            // One update fits; the other two are dropped while nobody reads.
            eventually("dropped updates", TTL, || async {
                (node.stats().watch_dropped >= 2).then_some(())
            })
            .await;
            // The node is not blocked: it still answers and replicates.
            for user in &users {
                wait_status(&node, user, Status::Online).await;
                wait_status(&other, user, Status::Online).await;
            }
            // A watcher that catches up ends with the current state of everyone.
            let mut online = std::collections::HashSet::new();
            while online.len() < users.len() {
                let update = next(&mut watch).await;
                assert_eq!(update.status, Status::Online);
                online.insert(update.user_id);
            }
            drop(guards);
        }

        #[tokio::test]
        async fn watches_refuse_too_many_users_and_bad_ids() {
            let cluster = Cluster::new($kind).await;
            let node = cluster.node().await;
            let viewer = user();
            let max = node.settings().max_watch_users;
            let too_many: Vec<String> = (0..=max).map(|i| format!("u{i}")).collect();
            let err = node.watch(&viewer, too_many.clone()).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
            let watch = node.watch(&viewer, too_many[..max].to_vec()).await.unwrap();
            assert_eq!(watch.initial().len(), max);
            let twice = vec!["u1".to_owned(), "u1".to_owned()];
            assert_eq!(node.watch(&viewer, twice).await.unwrap().initial().len(), 1);
            for bad in ["", "a b", "x\n"] {
                let err = node.watch(&viewer, vec![bad.to_owned()]).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}");
                assert!(node.watch(bad, vec!["u1".to_owned()]).await.is_err());
            }
        }

        #[tokio::test]
        async fn privacy_settings_and_blocks_filter_what_a_viewer_sees() {
            let cluster = Cluster::new($kind).await;
            let node = cluster.node().await;
            let port = cluster.visibility.clone();
            let viewer = user();
            let [open, friend, stranger, hidden, blocker, blocked] =
                std::array::from_fn(|_| user());
            port.set_audience(&friend, Audience::Contacts);
            port.add_contact(&friend, &viewer);
            port.set_audience(&stranger, Audience::Contacts);
            port.add_contact(&viewer, &stranger); // the viewer's own contacts do not count
            port.set_audience(&hidden, Audience::Nobody);
            port.block(&blocker, &viewer);
            port.block(&viewer, &blocked);
            let all = [
                &open, &friend, &stranger, &hidden, &blocker, &blocked, &viewer,
            ];
            let guards: Vec<_> = all
                .iter()
                .map(|u| node.connect(u, "phone").unwrap())
                .collect();
            let ids: Vec<String> = all.iter().map(|u| (*u).clone()).collect();
            let views = node.get(Some(&viewer), &ids).await.unwrap();
            let shown: Vec<bool> = views.iter().map(|v| v.status == Status::Online).collect();
            assert_eq!(
                shown,
                [true, true, false, false, false, false, true],
                "{views:?}"
            );
            for view in &views[2..6] {
                assert_eq!(
                    view,
                    &PresenceView::hidden(&view.user_id),
                    "indistinguishable from never seen"
                );
            }
            assert!(
                views.iter().all(|v| v.device_ids.is_empty()),
                "device ids only for services"
            );
            let unfiltered = node.get(None, &ids).await.unwrap();
            assert!(
                unfiltered
                    .iter()
                    .all(|v| v.status == Status::Online && v.device_ids == ["phone"])
            );
            let watch = node.watch(&viewer, ids).await.unwrap();
            assert_eq!(watch.initial(), &views[..]);
            drop(guards);
        }

        #[tokio::test]
        async fn a_privacy_change_hides_a_live_watch_promptly() {
            let cluster = Cluster::new($kind).await;
            let node = cluster.node().await;
            let (viewer, ann) = (user(), user());
            let _phone = node.connect(&ann, "phone").unwrap();
            let mut watch = node.watch(&viewer, vec![ann.clone()]).await.unwrap();
            assert_eq!(watch.initial()[0].status, Status::Online);

            cluster.visibility.set_audience(&ann, Audience::Nobody);
            let changed = Instant::now();
            node.invalidate_visibility(&ann);
            assert_eq!(next(&mut watch).await, PresenceView::hidden(&ann));
            assert!(
                changed.elapsed() < Duration::from_secs(1),
                "{:?}",
                changed.elapsed()
            );

            cluster.visibility.set_audience(&ann, Audience::Everyone);
            node.invalidate_visibility(&ann);
            assert_eq!(next(&mut watch).await.status, Status::Online);
        }

        #[tokio::test]
        async fn visibility_is_asked_again_after_the_cache_ttl_and_fails_closed() {
            let cluster = Cluster::new($kind).await;
            let node = cluster.node().await;
            let (viewer, ann) = (user(), user());
            let _phone = node.connect(&ann, "phone").unwrap();
            let mut watch = node.watch(&viewer, vec![ann.clone()]).await.unwrap();
            assert_eq!(watch.initial()[0].status, Status::Online);

            // A contacts change publishes no event: the periodic check finds it.
            cluster.visibility.set_audience(&ann, Audience::Contacts);
            let changed = Instant::now();
            assert_eq!(next(&mut watch).await, PresenceView::hidden(&ann));
            let ttl = node.settings().visibility_cache_ttl;
            assert!(
                changed.elapsed() <= ttl + Duration::from_millis(1500),
                "{:?}",
                changed.elapsed()
            );
            cluster.visibility.add_contact(&ann, &viewer);
            assert_eq!(next(&mut watch).await.status, Status::Online);

            // The profile service is down when a change is announced: hide.
            cluster.visibility.set_failing(true);
            node.invalidate_visibility(&ann);
            assert_eq!(next(&mut watch).await, PresenceView::hidden(&ann));
            let err = node
                .get(Some(&viewer), std::slice::from_ref(&ann))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unavailable);
            // Back: asked again (every second) and shown again.
            cluster.visibility.set_failing(false);
            assert_eq!(next(&mut watch).await.status, Status::Online);
        }

        #[tokio::test]
        async fn profile_events_invalidate_visibility() {
            let cluster = Cluster::new($kind).await;
            let backends = chatflow_testkit::TestBackends::new($kind).await;
            let node = cluster.node().await;
            for topic in chatflow_presence::PROFILE_TOPICS {
                backends.bus.ensure_topic(topic, 4).await.unwrap();
            }
            node.follow_profile_events(backends.bus.clone())
                .await
                .unwrap();
            let (viewer, ann) = (user(), user());
            let _phone = node.connect(&ann, "phone").unwrap();
            let mut watch = node.watch(&viewer, vec![ann.clone()]).await.unwrap();
            assert_eq!(watch.initial()[0].status, Status::Online);

            // The viewer blocks ann: each is hidden from the other.
            cluster.visibility.block(&viewer, &ann);
            let changed = Instant::now();
            $crate::events::publish_block(&backends, &viewer, &ann, true).await;
            assert_eq!(next(&mut watch).await, PresenceView::hidden(&ann));
            assert!(
                changed.elapsed() < Duration::from_secs(2),
                "{:?}",
                changed.elapsed()
            );

            cluster.visibility.unblock(&viewer, &ann);
            $crate::events::publish_block(&backends, &viewer, &ann, false).await;
            assert_eq!(next(&mut watch).await.status, Status::Online);

            cluster.visibility.set_audience(&ann, Audience::Nobody);
            $crate::events::publish_privacy(&backends, &ann).await;
            assert_eq!(next(&mut watch).await, PresenceView::hidden(&ann));
            // Garbage on the topics changes nothing and breaks nothing.
            $crate::events::publish_garbage(&backends, &ann).await;
            cluster.visibility.set_audience(&ann, Audience::Everyone);
            $crate::events::publish_privacy(&backends, &ann).await;
            assert_eq!(next(&mut watch).await.status, Status::Online);
        }
    };
}
