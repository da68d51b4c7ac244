// EchoChannel.java ADDR PORT - a Java NIO DatagramChannel UDP echo server
// (blocking receive), for tests/t_matrix.sh; run as `java EchoChannel.java`.
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;

public class EchoChannel {
    public static void main(String[] args) throws Exception {
        DatagramChannel ch = DatagramChannel.open();
        ch.bind(new InetSocketAddress(args[0], Integer.parseInt(args[1])));
        ByteBuffer buf = ByteBuffer.allocateDirect(65536);
        for (;;) {
            buf.clear();
            SocketAddress from = ch.receive(buf);
            buf.flip();
            ch.send(buf, from);
        }
    }
}
