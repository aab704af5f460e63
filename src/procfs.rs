//! What the kernel's `/proc` says of the processes on the machine: which there are, and each
//! one's parent and process group, read from `/proc/PID/stat`.

/// The fields of `/proc/PID/stat` after the command name (which is in parentheses and may hold
/// anything, spaces and parentheses included): the state, then these.
#[derive(Debug, Clone, Copy)]
pub enum StatField {
    Parent = 1,
    Group = 2,
}

/// Every process's pid.
pub fn processes() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
}

/// `field` of process `pid`, where it still runs.
pub fn stat(pid: i32, field: StatField) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(field as usize)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_listed_with_its_parent_and_group() {
        let me = std::process::id() as i32;
        assert!(processes().any(|pid| pid == me));
        assert_eq!(
            stat(me, StatField::Parent),
            Some(nix::unistd::getppid().as_raw())
        );
        assert_eq!(
            stat(me, StatField::Group),
            Some(nix::unistd::getpgrp().as_raw())
        );
    }
}
