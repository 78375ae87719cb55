"""kubeadm certs check-expiration | renew and the lab's certificate lifetime knob (no lab needed): the
kubeadm stand-in writes a PKI and kubeconfigs into a temporary directory as `kubeadm init` does, then
the commands run against it in-process. The table format is kubeadm's (certs.go, Go's tabwriter with
minwidth 10 and padding 3), the renew lines are those of kubeadm's renewal manager."""
import base64
import contextlib
import datetime
import io
import json
import os
import shutil
import tempfile
import unittest

import yaml

import _path  # noqa: F401
import common
import kubeadm
import kubeadm_certs
import pki
from patching import patched  # noqa: E402


def read(path):
    with open(path) as f:
        return f.read()


CC = {"kubernetesVersion": "v1.36.4", "controlPlaneEndpoint": "10.99.1.250:6443",
      "networking": {"serviceSubnet": "10.96.0.0/16"},
      "etcd": {"external": {"endpoints": ["https://10.99.1.1:2379"], "caFile": "/x/ca.crt", "certFile": "/x/c.crt",
                            "keyFile": "/x/c.key"}}}


class CertsTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kubeadm-certs-test-")
        self.kdir = os.path.join(self.tmp, "kubernetes")
        self.knob = os.path.join(self.tmp, "cert-lifetime")
        self.cc = kubeadm.kc.defaulted_cluster(dict(CC, certificatesDir=self.kdir + "/pki"), "1.36.4")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def knobbed(self):
        return patched(kubeadm_certs, LIFETIME_KNOB=self.knob)

    def init_pki(self, super_admin=True):
        """What `kubeadm init` writes: the CAs, leaf certificates and kubeconfigs."""
        node = kubeadm.Node({"nodeRegistration": {"name": "node1"},
                             "localAPIEndpoint": {"advertiseAddress": "10.99.1.1"}}, self.cc)
        with patched(kubeadm, KDIR=self.kdir), self.knobbed(), contextlib.redirect_stdout(io.StringIO()):
            os.makedirs(self.kdir, exist_ok=True)
            kubeadm.phase_certs(node)
            kubeadm.phase_kubeconfig(node, super_admin=super_admin)
        return node

    def info(self):
        with self.knobbed():
            return kubeadm_certs.expiration_info(self.cc, kdir=self.kdir)

    def test_lifetime_knob_and_parsing(self):
        self.assertEqual(kubeadm_certs.parse_lifetime("60d"), 60 * 86400)
        self.assertEqual(kubeadm_certs.parse_lifetime("2160h0m0s"), 2160 * 3600)
        self.assertEqual(kubeadm_certs.parse_lifetime("90m"), 5400)
        with self.assertRaises(ValueError):
            kubeadm_certs.parse_lifetime("soon")
        with self.knobbed():
            self.assertEqual(kubeadm_certs.leaf_lifetime({}), 8760 * 3600)       # kubeadm's default, 1 year
            self.assertEqual(kubeadm_certs.leaf_lifetime({"certificateValidityPeriod": "720h"}), 720 * 3600)
            with open(self.knob, "w") as f:
                f.write("45d\n")
            self.assertEqual(kubeadm_certs.leaf_lifetime({"certificateValidityPeriod": "720h"}), 45 * 86400)
            with open(self.knob, "w") as f:
                f.write("whenever\n")
            with self.assertRaises(common.Fatal):
                kubeadm_certs.leaf_lifetime({})

    def test_init_issues_leaves_with_the_knobs_lifetime_but_not_the_cas(self):
        with open(self.knob, "w") as f:
            f.write("12h\n")
        self.init_pki()
        certs, cas = self.info()
        by = {c["name"]: c for c in certs}
        for name in ("admin.conf", "apiserver", "apiserver-kubelet-client", "controller-manager.conf",
                     "front-proxy-client", "scheduler.conf", "super-admin.conf"):
            self.assertFalse(by[name]["missing"], name)
            self.assertTrue(11 * 3600 < by[name]["residualTime"] <= 12 * 3600, (name, by[name]["residualTime"]))
        self.assertEqual([c["name"] for c in cas], ["ca", "front-proxy-ca"])
        self.assertTrue(all(c["residualTime"] > 9 * 365 * 86400 for c in cas))

    def test_check_expiration_table_is_kubeadms(self):
        # the column widths of a real 1.3x transcript (every certificate present, external etcd)
        self.init_pki()
        certs, cas = self.info()
        text = kubeadm_certs.expiration_text(certs, cas)
        lines = text.split("\n")
        self.assertEqual(lines[0], "CERTIFICATE                EXPIRES                  RESIDUAL TIME   "
                                   "CERTIFICATE AUTHORITY   EXTERNALLY MANAGED")
        self.assertEqual([l.split()[0] for l in lines[1:8]], ["admin.conf", "apiserver", "apiserver-kubelet-client",
                                                              "controller-manager.conf", "front-proxy-client",
                                                              "scheduler.conf", "super-admin.conf"])
        end = pki.cert_details(os.path.join(self.kdir, "pki/apiserver.crt"))["notAfter"]
        self.assertEqual(lines[2], "apiserver                  %s   364d            ca                      no      "
                         % end.strftime("%b %d, %Y %H:%M UTC"))
        self.assertTrue(lines[5].startswith("front-proxy-client") and "front-proxy-ca" in lines[5])
        self.assertEqual(lines[8], "")
        self.assertEqual(lines[9], "CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED")
        self.assertRegex(lines[10], r"^ca                      \w{3} \d\d, \d{4} \d\d:\d\d UTC   9y              no      $")
        self.assertTrue(lines[11].startswith("front-proxy-ca          "))

    def test_check_expiration_missing_row_widens_the_first_column(self):
        # a joined control plane has no super-admin.conf: kubeadm prints "!MISSING! NAME\t\t\t\t" into the
        # same tabwriter block (certs.go), so that row's first cell sets the column's width
        self.init_pki(super_admin=False)
        lines = kubeadm_certs.expiration_text(*self.info()).split("\n")
        width = len("!MISSING! super-admin.conf") + 3
        self.assertEqual(lines[0], "CERTIFICATE".ljust(width) + "EXPIRES                  RESIDUAL TIME   "
                                   "CERTIFICATE AUTHORITY   EXTERNALLY MANAGED")
        self.assertRegex(lines[2], "^" + "apiserver".ljust(width) + r"\w{3} \d\d, ")
        # (empty cells are padded to their column's width too: tabwriter without DiscardEmptyColumns)
        self.assertEqual(lines[7], "!MISSING! super-admin.conf".ljust(len(lines[0]) - len("EXTERNALLY MANAGED")))
        self.assertEqual(lines[8], "")

    def test_check_expiration_json(self):
        self.init_pki()
        obj = kubeadm_certs.expiration_object(*self.info())
        self.assertEqual((obj["kind"], obj["apiVersion"]), ("CertificateExpirationInfo", "output.kubeadm.k8s.io/v1alpha3"))
        api = next(c for c in obj["certificates"] if c["name"] == "apiserver")
        self.assertEqual(sorted(api), ["caName", "expirationDate", "externallyManaged", "missing", "name", "residualTime"])
        self.assertEqual(api["caName"], "ca")
        datetime.datetime.strptime(api["expirationDate"], "%Y-%m-%dT%H:%M:%SZ")
        self.assertNotIn("caName", obj["certificateAuthorities"][0])
        json.dumps(obj)

    def test_short_human_duration(self):
        f = kubeadm_certs.short_human_duration
        self.assertEqual([f(-5), f(-1), f(59), f(3599), f(86399), f(364 * 86400 + 5), f(9 * 365 * 86400 + 9)],
                         ["<invalid>", "0s", "59s", "59m", "23h", "364d", "9y"])

    def test_renew_all_renews_files_and_kubeconfigs_and_says_so(self):
        with open(self.knob, "w") as f:
            f.write("2d\n")
        self.init_pki()
        before = {c["name"]: c for c in self.info()[0]}
        old_key = read(os.path.join(self.kdir, "pki/apiserver.key"))
        old_admin = yaml.safe_load(read(os.path.join(self.kdir, "admin.conf")))
        os.unlink(self.knob)
        with patched(kubeadm_certs, cluster_configuration=lambda *a, **k: self.cc, KDIR=self.kdir), self.knobbed(), \
                patched(kubeadm_certs, handlers=lambda cc, pki_dir=None, kdir=None: self.handlers(cc)), \
                contextlib.redirect_stdout(io.StringIO()) as out:
            kubeadm_certs.cmd_certs(["renew", "all"], kubeadm.parse_args)
        lines = out.getvalue().strip().split("\n")
        self.assertEqual(lines[0], "certificate embedded in the kubeconfig file for the admin to use and for kubeadm "
                                   "itself renewed")
        self.assertIn("certificate for serving the Kubernetes API renewed", lines)
        self.assertIn("certificate embedded in the kubeconfig file for the super-admin renewed", lines)
        self.assertEqual(lines[-1], "Done renewing certificates. You must restart the kube-apiserver, "
                                    "kube-controller-manager, kube-scheduler and etcd, so that they can use the new "
                                    "certificates.")
        after = {c["name"]: c for c in self.info()[0]}
        for name in before:
            self.assertLess(before[name]["residualTime"], 3 * 86400)
            self.assertGreater(after[name]["residualTime"], 364 * 86400, name)
        self.assertNotEqual(read(os.path.join(self.kdir, "pki/apiserver.key")), old_key)
        d = pki.cert_details(os.path.join(self.kdir, "pki/apiserver.crt"))
        self.assertEqual(d["cn"], "kube-apiserver")
        self.assertIn("10.99.1.250", d["ips"])
        self.assertTrue(d["server"])
        self.assertTrue(pki.verify(os.path.join(self.kdir, "pki/ca.crt"), os.path.join(self.kdir, "pki/apiserver.crt")))
        admin = yaml.safe_load(read(os.path.join(self.kdir, "admin.conf")))
        self.assertEqual(admin["clusters"], old_admin["clusters"])
        crt = base64.b64decode(admin["users"][0]["user"]["client-certificate-data"])
        self.assertEqual((pki.cert_details(crt)["cn"], pki.cert_details(crt)["orgs"]),
                         ("kubernetes-admin", ["kubeadm:cluster-admins"]))

    def handlers(self, cc):
        return [kubeadm_certs.Handler(*r, pki_dir=self.kdir + "/pki", kdir=self.kdir)
                for r in sorted(kubeadm_certs.EXTERNAL_ETCD_CERTS, key=lambda r: r[0])]

    def test_renew_one_missing_and_external_ca(self):
        self.init_pki(super_admin=False)
        hs = {h.name: h for h in self.handlers(self.cc)}
        with self.knobbed(), contextlib.redirect_stdout(io.StringIO()) as out:
            self.assertFalse(kubeadm_certs.renew_one(hs["super-admin.conf"], self.cc))
            os.rename(os.path.join(self.kdir, "pki/front-proxy-ca.key"), os.path.join(self.tmp, "fp.key"))
            self.assertFalse(kubeadm_certs.renew_one(hs["front-proxy-client"], self.cc))
        self.assertEqual(out.getvalue(), "MISSING! certificate embedded in the kubeconfig file for the super-admin\n"
                                         "Detected external front-proxy-ca, certificate for the front proxy client "
                                         "can't be renewed\n")

    def test_renew_unknown_name_is_an_unknown_command(self):
        with self.assertRaises(common.Fatal) as cm:
            kubeadm_certs.cmd_certs(["renew", "bogus"], kubeadm.parse_args)
        self.assertTrue(cm.exception.msg.startswith('unknown command "bogus" for "kubeadm certs renew"'))

    def test_tabwriter(self):
        self.assertEqual(kubeadm_certs.tabwrite(["A\tBB\tc", "aaaa\tb\tlast", "", "X\ty"]),
                         "A         BB        c\naaaa      b         last\n\nX         y")


if __name__ == "__main__":
    unittest.main()
