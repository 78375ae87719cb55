/// Names in the operator's PKI store and paths on the hosts for the etcd PKI.
///
/// The store (`PKIStore`) keeps `NAME.crt`/`NAME.key`; these are the names Cairn uses, and
/// where the files go on the hosts (kubeadm's paths for kube-apiserver's side).
public enum EtcdPKI {
    /// The etcd CA in the store.
    public static let caName = "etcd-ca"
    public static let caCommonName = "etcd-ca"

    /// One member's server+peer certificate in the store.
    public static func memberName(_ member: String) -> String { "etcd-member-\(member)" }
    /// kube-apiserver's client certificate in the store.
    public static let apiServerClientName = "apiserver-etcd-client"
    /// Cairn's etcdctl client certificate in the store.
    public static let etcdctlClientName = "etcdctl"

    /// On etcd members: the directory holding `ca.crt`, `MEMBER.crt` and `MEMBER.key`.
    public static let memberDirectory = "/etc/etcd/pki"
    /// On control-plane hosts (kubeadm's layout).
    public static let apiServerCAPath = "/etc/kubernetes/pki/etcd/ca.crt"
    public static let apiServerClientCertificatePath = "/etc/kubernetes/pki/apiserver-etcd-client.crt"
    public static let apiServerClientKeyPath = "/etc/kubernetes/pki/apiserver-etcd-client.key"
}
