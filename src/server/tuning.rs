//! The process tuned to serve: freed allocations returned to the OS, and the open-file limit
//! raised as far as it goes, with the connections that fit in it.

/// Every argon2 check allocates 19 MiB. glibc keeps freed blocks of that size in its arenas,
/// so after a flood of logins the server would hold hundreds of MiB for good; served by mmap
/// instead (from 1 MiB up), they go back to the OS when the check ends.
pub fn return_large_allocations_to_the_os() {
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread starts.
    unsafe {
        nix::libc::mallopt(nix::libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Raises the soft open-file limit to the hard one, and says how many connections fit in it
/// with room for the state file, the logs and the runtime's own descriptors.
pub fn connections_the_open_file_limit_allows() -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    const SPARE: u64 = 64;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return usize::MAX;
    };
    let limit = if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    usize::try_from(limit.saturating_sub(SPARE).max(1)).unwrap_or(usize::MAX)
}
