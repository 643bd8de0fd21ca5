//! Doctor checks for serving VM guests: the CPU's hardware virtualization (CPUID: VMX on
//! Intel, SVM on AMD), whether `/dev/kvm` can be opened read-write, and whether AF_VSOCK
//! sockets can be made. None of them blocks rendering, so a missing one is a warning.
//! They read and open only; no VM is made.

use rustix::io::Errno;

use super::Row;

/// Hardware virtualization as the CPU reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuVirt {
    /// The CPUID vendor string ("GenuineIntel", "AuthenticAMD", …).
    pub vendor: String,
    /// "VMX (Intel VT-x)", "SVM (AMD-V)", or `None` when absent.
    pub extension: Option<&'static str>,
    /// CPUID leaf 1 ECX bit 31: this system runs under a hypervisor.
    pub in_vm: bool,
}

#[cfg(target_arch = "x86_64")]
pub fn cpu_virt() -> Option<CpuVirt> {
    use core::arch::x86_64::__cpuid;
    // CPUID is safe to execute on every x86-64 CPU; newer Rust marks the intrinsic safe,
    // older marks it unsafe, hence the allow.
    #[allow(unused_unsafe)]
    // SAFETY: CPUID exists on every x86-64 processor and only reads identification.
    let leaf = |n: u32| unsafe { __cpuid(n) };
    let l0 = leaf(0);
    let vendor: Vec<u8> = [l0.ebx, l0.edx, l0.ecx].iter().flat_map(|r| r.to_le_bytes()).collect();
    let vendor = String::from_utf8_lossy(&vendor).into_owned();
    let (vmx, in_vm) = if l0.eax >= 1 {
        let l1 = leaf(1);
        (l1.ecx & (1 << 5) != 0, l1.ecx & (1 << 31) != 0)
    } else {
        (false, false)
    };
    let svm = leaf(0x8000_0000).eax >= 0x8000_0001 && leaf(0x8000_0001).ecx & (1 << 2) != 0;
    let extension = match (vmx, svm) {
        (true, _) => Some("VMX (Intel VT-x)"),
        (false, true) => Some("SVM (AMD-V)"),
        _ => None,
    };
    Some(CpuVirt { vendor, extension, in_vm })
}

#[cfg(not(target_arch = "x86_64"))]
pub fn cpu_virt() -> Option<CpuVirt> {
    None
}

pub fn cpu_row() -> Row {
    const CHECK: &str = "cpu virtualization";
    let Some(cpu) = cpu_virt() else {
        return Row::ok(
            CHECK,
            vec![format!("not an x86-64 CPU ({}): CPUID does not apply; /dev/kvm below tells", std::env::consts::ARCH)],
        );
    };
    let where_ = if cpu.in_vm { "a VM (CPUID hypervisor bit)" } else { "bare metal" };
    let module = if cpu.vendor == "AuthenticAMD" || cpu.vendor == "HygonGenuine" { "kvm_amd" } else { "kvm_intel" };
    match cpu.extension {
        Some(ext) => Row::ok(CHECK, vec![format!("{}: {ext}, on {where_}", cpu.vendor)]),
        None if cpu.in_vm => Row::warn(
            CHECK,
            vec![format!("{}: no VMX or SVM: this is {where_} whose hypervisor does not pass them on", cpu.vendor)],
            format!(
                "only for running VM guests here: turn on nested virtualization in the outer hypervisor (KVM: \
                 `{module} nested=1`)"
            ),
        ),
        None => Row::warn(
            CHECK,
            vec![format!("{}: no VMX or SVM reported ({where_})", cpu.vendor)],
            "only for running VM guests here: enable VT-x / AMD-V (SVM) in the firmware setup",
        ),
    }
}

pub fn kvm_row() -> Row {
    const CHECK: &str = "/dev/kvm";
    use rustix::fs::{open, Mode, OFlags};
    match open("/dev/kvm", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()) {
        Ok(_fd) => Row::ok(CHECK, vec!["opens read-write: this user can run KVM guests".to_owned()]),
        Err(Errno::NOENT) => Row::warn(
            CHECK,
            vec!["absent: no KVM".to_owned()],
            "only for running VM guests here: `sudo modprobe kvm_intel` (or kvm_amd), which needs the CPU's \
             virtualization above",
        ),
        Err(e @ (Errno::ACCESS | Errno::PERM)) => Row::warn(
            CHECK,
            vec![format!("present, but this user cannot open it read-write ({e})")],
            "only for running VM guests here: `sudo usermod -aG kvm $USER`, then log in again",
        ),
        Err(e) => Row::warn(
            CHECK,
            vec![format!("present, but opening it failed: {e}")],
            "only for running VM guests here: check the kvm module's messages in `dmesg`",
        ),
    }
}

pub fn vsock_row() -> Row {
    const CHECK: &str = "vsock";
    use rustix::net::{socket, AddressFamily, SocketType};
    let nodes: Vec<String> = ["/dev/vsock", "/dev/vhost-vsock"]
        .iter()
        .map(|n| format!("{n} {}", if std::path::Path::new(n).exists() { "present" } else { "absent" }))
        .collect();
    match socket(AddressFamily::VSOCK, SocketType::STREAM, None) {
        Ok(_fd) => Row::ok(CHECK, vec![format!("AF_VSOCK sockets can be made; {}", nodes.join(", "))]),
        Err(e) => Row::warn(
            CHECK,
            vec![format!("cannot make an AF_VSOCK socket: {e}; {}", nodes.join(", "))],
            "only for VM guests talking to this host: `sudo modprobe vhost_vsock` on the host (vsock plus \
             vmw_vsock_virtio_transport in a guest)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn cpuid_reads_a_vendor() {
        let cpu = cpu_virt().unwrap();
        assert_eq!(cpu.vendor.len(), 12, "{cpu:?}");
        // The kernel reads the same bit: /proc/cpuinfo lists vmx or svm exactly when
        // CPUID has them (and the kernel has not disabled them).
        if let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") {
            let flags = info.lines().find(|l| l.starts_with("flags")).unwrap_or("");
            let listed = flags.split_whitespace().any(|f| f == "vmx" || f == "svm");
            if listed {
                assert!(cpu.extension.is_some(), "{cpu:?}");
            }
            let hv = flags.split_whitespace().any(|f| f == "hypervisor");
            assert_eq!(hv, cpu.in_vm, "{cpu:?}");
        }
    }
}
