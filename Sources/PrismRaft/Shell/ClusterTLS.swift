import NIOCore
import NIOSSL

/// Mutual TLS for the RPC port (`cluster.transport.cert_path`, `key_path`, `ca_path`). Both ends
/// present the node's certificate and check the other's: against the CA bundle when one is given,
/// otherwise against the cluster certificate itself, so only a process holding the cluster's key
/// (or a key the cluster CA signed) completes a handshake. Host names are not checked: peers are
/// addressed by whatever the membership view says, and the certificate is the identity.
public struct ClusterTLS: Sendable {
    public let certificatePath: String
    public let keyPath: String
    /// Nil: peers must present a certificate that chains to the cluster certificate.
    public let caPath: String?
    let serverContext: NIOSSLContext
    let clientContext: NIOSSLContext

    /// Loads and checks the files now (unreadable files, a key that is not the certificate's, an
    /// empty CA bundle are errors naming the setting and the path), so a bad setting stops the
    /// node at start instead of failing every connection later.
    public init(certificatePath: String, keyPath: String, caPath: String? = nil) throws(ClusterTLSError) {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificatePath) } catch {
            throw ClusterTLSError(key: "cluster.transport.cert_path", path: certificatePath, reason: "not a readable PEM certificate (\(error))")
        }
        guard !chain.isEmpty else {
            throw ClusterTLSError(key: "cluster.transport.cert_path", path: certificatePath, reason: "holds no certificate")
        }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch {
            throw ClusterTLSError(key: "cluster.transport.key_path", path: keyPath, reason: "not a readable PEM private key (\(error))")
        }
        let roots: [NIOSSLCertificate]
        if let caPath {
            do { roots = try NIOSSLCertificate.fromPEMFile(caPath) } catch {
                throw ClusterTLSError(key: "cluster.transport.ca_path", path: caPath, reason: "not a readable PEM bundle (\(error))")
            }
            guard !roots.isEmpty else { throw ClusterTLSError(key: "cluster.transport.ca_path", path: caPath, reason: "holds no certificate") }
        } else {
            roots = chain
        }
        var configuration = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key), trustRoots: .certificates(roots))
        configuration.minimumTLSVersion = .tlsv13
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        client.trustRoots = .certificates(roots)
        client.certificateVerification = .noHostnameVerification
        client.minimumTLSVersion = .tlsv13
        do {
            serverContext = try NIOSSLContext(configuration: configuration)
            clientContext = try NIOSSLContext(configuration: client)
        } catch {
            // BoringSSL refuses a key that is not the certificate's when the context is made.
            throw ClusterTLSError(key: "cluster.transport.key_path", path: keyPath,
                                  reason: "cannot be used with the certificate in \(certificatePath) (\(error))")
        }
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.caPath = caPath
    }

    func serverHandler() -> NIOSSLServerHandler { NIOSSLServerHandler(context: serverContext) }

    func clientHandler() throws -> NIOSSLClientHandler { try NIOSSLClientHandler(context: clientContext, serverHostname: nil) }
}

/// A TLS setting that cannot be used, with the setting's name and the file.
public struct ClusterTLSError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let path: String
    public let reason: String

    public var description: String { "\(key) = \"\(path)\": \(reason)" }
}
