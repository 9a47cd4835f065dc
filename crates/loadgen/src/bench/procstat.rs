//! Server cost from `/proc`: CPU time (utime + stime, children included) and
//! resident memory of a process tree, sampled at the start and end of a
//! measured window. The parsing is pure and tested on captured text.

use std::collections::{HashMap, HashSet};
use std::fs;

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, fixed at
/// 100 by the Linux ABI on every architecture this runs on).
const TICKS_PER_SECOND: f64 = 100.0;
/// Bytes per page of `/proc/<pid>/statm` (4 KiB on x86-64 and arm64 Linux).
const PAGE_BYTES: u64 = 4096;

/// What one `/proc/<pid>/stat` line says that we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Parent process id.
    pub ppid: u32,
    /// User + system ticks of the process itself.
    pub ticks: u64,
    /// User + system ticks of its waited-for children.
    pub child_ticks: u64,
}

/// CPU and memory of a set of processes at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// CPU-seconds used so far (children included).
    pub cpu_seconds: f64,
    /// Resident memory now, in bytes.
    pub rss_bytes: u64,
}

impl std::ops::Sub for Sample {
    type Output = Sample;
    fn sub(self, earlier: Sample) -> Sample {
        Sample {
            cpu_seconds: self.cpu_seconds - earlier.cpu_seconds,
            rss_bytes: self.rss_bytes.saturating_sub(earlier.rss_bytes),
        }
    }
}

/// Parses one `/proc/<pid>/stat` line. The command name (field 2) is in
/// parentheses and may hold spaces and parentheses, so fields are counted
/// from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    // After the name: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
    Some(Stat {
        ppid: u32::try_from(field(4)?).ok()?,
        ticks: field(14)? + field(15)?,
        child_ticks: field(16)? + field(17)?,
    })
}

/// Resident pages (second field) of a `/proc/<pid>/statm` line, in bytes.
pub fn parse_statm_rss(text: &str) -> Option<u64> {
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * PAGE_BYTES)
}

/// `roots` and every process descended from them, given each process's parent.
pub fn tree(roots: &[u32], parents: &HashMap<u32, u32>) -> Vec<u32> {
    let mut members: HashSet<u32> = roots.iter().copied().collect();
    // Parents can have larger pids than children after pid wrap-around, so
    // iterate until nothing is added.
    loop {
        let before = members.len();
        for (pid, ppid) in parents {
            if members.contains(ppid) {
                members.insert(*pid);
            }
        }
        if members.len() == before {
            break;
        }
    }
    let mut members: Vec<u32> = members.into_iter().collect();
    members.sort_unstable();
    members
}

/// The sum of CPU and RSS over `roots` and their descendants right now.
/// Processes that vanish between listing and reading are skipped.
pub fn sample(roots: &[u32]) -> Sample {
    let mut parents = HashMap::new();
    let mut stats = HashMap::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(stat) = read(pid, "stat").as_deref().and_then(parse_stat) {
                parents.insert(pid, stat.ppid);
                stats.insert(pid, stat);
            }
        }
    }
    let mut total = Sample::default();
    for pid in tree(roots, &parents) {
        if let Some(stat) = stats.get(&pid) {
            total.cpu_seconds += (stat.ticks + stat.child_ticks) as f64 / TICKS_PER_SECOND;
        }
        total.rss_bytes += read(pid, "statm")
            .as_deref()
            .and_then(parse_statm_rss)
            .unwrap_or(0);
    }
    total
}

/// This process's own CPU-seconds and RSS, without its children (the
/// servers the generator started are its children).
pub fn own() -> Sample {
    let pid = std::process::id();
    let stat = read(pid, "stat").as_deref().and_then(parse_stat);
    Sample {
        cpu_seconds: stat.map_or(0.0, |s| s.ticks as f64 / TICKS_PER_SECOND),
        rss_bytes: read(pid, "statm")
            .as_deref()
            .and_then(parse_statm_rss)
            .unwrap_or(0),
    }
}

fn read(pid: u32, file: &str) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/{file}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_read_after_the_name() {
        let line = "4242 (chatflow) S 4200 4242 4200 0 -1 4194560 12345 0 0 0 \
                    731 219 15 4 20 0 42 0 123456 2147483648 30000 18446744073709551615 \
                    1 1 0 0 0 0 0 4096 17408 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                ppid: 4200,
                ticks: 950,
                child_ticks: 19
            })
        );
        // A name with spaces and a parenthesis does not shift the fields.
        let odd = "77 (node (worker) 1) R 1 77 77 0 -1 0 0 0 0 0 5 6 7 8 20 0 1 0 1 1 1";
        assert_eq!(
            parse_stat(odd),
            Some(Stat {
                ppid: 1,
                ticks: 11,
                child_ticks: 15
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 0 1"), None);
    }

    #[test]
    fn statm_gives_resident_bytes() {
        assert_eq!(
            parse_statm_rss("56789 1234 567 89 0 4321 0\n"),
            Some(1234 * 4096)
        );
        assert_eq!(parse_statm_rss(""), None);
    }

    #[test]
    fn the_tree_holds_descendants_only() {
        let parents = HashMap::from([(10, 1), (11, 10), (12, 11), (5, 12), (20, 1), (21, 20)]);
        assert_eq!(tree(&[10], &parents), vec![5, 10, 11, 12]);
        assert_eq!(tree(&[10, 20], &parents), vec![5, 10, 11, 12, 20, 21]);
        assert_eq!(tree(&[99], &parents), vec![99]);
    }

    #[test]
    fn samples_subtract_and_this_process_is_visible() {
        let a = Sample {
            cpu_seconds: 1.5,
            rss_bytes: 100,
        };
        let b = Sample {
            cpu_seconds: 4.0,
            rss_bytes: 50,
        };
        assert_eq!(
            b - a,
            Sample {
                cpu_seconds: 2.5,
                rss_bytes: 0
            }
        );
        assert!(own().rss_bytes > 0);
    }
}
