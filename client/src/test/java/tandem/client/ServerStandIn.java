package tandem.client;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Stands in for the server main in {@link ServerProcessTest}: {@code exit CODE} exits at once;
 * {@code serve PORTFILE PORT} writes the port file as the server does and waits to be destroyed.
 */
public final class ServerStandIn {

  private ServerStandIn() {}

  public static void main(String[] args) throws Exception {
    if (args[0].equals("exit")) {
      System.exit(Integer.parseInt(args[1]));
    }
    Path portFile = Path.of(args[1]);
    // Write then rename, as a half-written file must never be read as a port.
    Path partial = portFile.resolveSibling(portFile.getFileName() + ".tmp");
    Files.writeString(partial, args[2] + "\n");
    Files.move(partial, portFile);
    Thread.currentThread().join();
  }
}
