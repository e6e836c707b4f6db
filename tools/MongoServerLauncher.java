import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.CountDownLatch;

/**
 * Starts mongo-java-server (a MongoDB wire-protocol server) for tests and local runs.
 *
 * Usage: java -cp CLASSPATH MongoServerLauncher.java [--host H] [--port P] [--backend memory|h2] [--file PATH] [--oplog]
 *
 * --oplog enables the server's oplog, which is what its change streams read (off by default: every write
 * is then also kept in local.oplog.rs for the life of the process, and each change-stream read scans it).
 *
 * Prints one line "MONGO-JAVA-SERVER READY mongodb://host:port" once it accepts connections.
 * It stops on SIGTERM/SIGINT, and also when its standard input closes, so that a parent which dies
 * (even by SIGKILL) never leaves a server behind. The h2 backend commits its file on shutdown.
 */
public class MongoServerLauncher {
    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 0;
        String backendName = "memory";
        String file = null;
        boolean oplog = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--host" -> { host = require(a, v); i++; }
                case "--port" -> { port = Integer.parseInt(require(a, v)); i++; }
                case "--backend" -> { backendName = require(a, v); i++; }
                case "--file" -> { file = require(a, v); i++; }
                case "--oplog" -> oplog = true;
                default -> fail("unknown argument " + a);
            }
        }
        MongoBackend backend;
        if (backendName.equals("memory")) {
            backend = new MemoryBackend();
        } else if (backendName.equals("h2")) {
            if (file == null) fail("--backend h2 needs --file PATH");
            backend = new H2Backend(file);
        } else {
            fail("--backend must be memory or h2, got " + backendName);
            return;
        }
        MongoServer server = new MongoServer(backend);
        if (oplog) server.enableOplog();
        server.bind(host, port);
        InetSocketAddress address = server.getLocalAddress();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdownNow();
            stopped.countDown();
        }));
        System.out.println("MONGO-JAVA-SERVER READY mongodb://" + host + ":" + address.getPort()
                + " backend=" + backendName + (file != null ? " file=" + file : "") + (oplog ? " oplog" : ""));
        System.out.flush();
        Thread watchdog = new Thread(() -> {
            try {
                InputStream in = System.in;
                while (in.read() != -1) { /* ignore input; EOF means the parent is gone */ }
            } catch (Exception ignored) {
            }
            System.exit(0);
        }, "stdin-watchdog");
        watchdog.setDaemon(true);
        if (System.getenv("MONGO_LAUNCHER_DETACHED") == null) watchdog.start();
        stopped.await();
    }

    private static String require(String name, String value) {
        if (value == null) fail(name + " needs a value");
        return value;
    }

    private static void fail(String message) {
        System.err.println("MongoServerLauncher: " + message);
        System.exit(2);
    }
}
