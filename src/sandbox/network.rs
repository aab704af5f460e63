//! A network namespace for the `grade` command with nothing in it but loopback: the grader's
//! HTTP client and the sandboxed submission share it, so they reach each other, while the
//! submission reaches neither the host's other services nor the internet.

use nix::libc;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Moves this process into a new network namespace with loopback up. It must run while the
/// process has one thread (first thing in `main`): a namespace is per thread, and only the
/// threads and children started afterwards inherit it. As root no user namespace is needed;
/// otherwise one maps just this user.
pub fn enter_private_network() -> std::io::Result<()> {
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    if uid.is_root() {
        unshare(libc::CLONE_NEWNET)?;
    } else {
        unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET)?;
        // setgroups must be denied before an unprivileged process may write its gid_map.
        std::fs::write("/proc/self/setgroups", "deny")?;
        std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))?;
        std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))?;
    }
    loopback_up()
}

/// Moves the calling thread alone into a new network namespace with loopback up; the programs
/// it starts afterwards inherit it. For several gradings in one process, each on its own
/// thread, after [`enter_private_network`] made the process able to (as root it needs nothing).
pub fn enter_private_network_of_thread() -> std::io::Result<()> {
    unshare(libc::CLONE_NEWNET)?;
    loopback_up()
}

fn unshare(flags: libc::c_int) -> std::io::Result<()> {
    // SAFETY: unshare takes flags and changes only this thread's namespaces.
    if unsafe { libc::unshare(flags) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// `ip link set lo up`, as one ioctl: the kernel then gives it 127.0.0.1/8 and ::1.
fn loopback_up() -> std::io::Result<()> {
    // SAFETY: a new datagram socket, owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd == -1 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just made and is owned by nothing else.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data; the ioctls read and write only it.
    unsafe {
        let mut request: libc::ifreq = std::mem::zeroed();
        for (to, from) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *to = *from as libc::c_char;
        }
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) == -1 {
            return Err(std::io::Error::last_os_error());
        }
        request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
