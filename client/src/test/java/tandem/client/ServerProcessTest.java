package tandem.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerProcessTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void serverArgumentsAreExactlyTheServerMainsOptions() {
    assertEquals(List.of("--port", "0", "--workers", "2", "--port-file", "/tmp/p"),
        ServerProcess.serverArguments(0, 2, Path.of("/tmp/p")));
    assertEquals(List.of("--port", "50051"), ServerProcess.serverArguments(50051, null, null));
  }

  @Test
  void commandRunsTheServerMainOnThisClassPath() {
    List<String> command = ServerProcess.command(List.of("--port", "1"));
    assertTrue(command.get(0).endsWith("java"), command.get(0));
    int cp = command.indexOf("-cp");
    assertEquals(System.getProperty("java.class.path"), command.get(cp + 1));
    assertEquals(List.of(ServerProcess.MAIN_CLASS, "--port", "1"), command.subList(cp + 2, command.size()));
  }

  @Test
  void onlyMemoryAndNativeSettingsAreInherited() {
    assertTrue(ServerProcess.inherited("-Xmx2g"));
    assertTrue(ServerProcess.inherited("-Dorg.bytedeco.javacpp.maxbytes=4G"));
    assertFalse(ServerProcess.inherited("-agentlib:jdwp=transport=dt_socket"));
    assertFalse(ServerProcess.inherited("-Dlogback.configurationFile=x.xml"));
  }

  @Test
  void awaitPortReadsThePortFile(@TempDir Path dir) throws Exception {
    Path portFile = dir.resolve("port");
    try (ServerProcess child = ServerProcess.launch(standIn("serve", portFile.toString(), "43210"), dir.resolve("log"))) {
      assertEquals(43210, child.awaitPort(portFile, TIMEOUT));
      assertTrue(child.isAlive());
      child.close();
      assertFalse(child.isAlive());
    }
  }

  @Test
  void awaitPortFailsWhenTheChildExitsFirst(@TempDir Path dir) throws Exception {
    try (ServerProcess child = ServerProcess.launch(standIn("exit", "3"), dir.resolve("log"))) {
      IOException e = assertThrows(IOException.class, () -> child.awaitPort(dir.resolve("port"), TIMEOUT));
      assertEquals("the server exited with code 3 before it was serving", e.getMessage());
    }
  }

  private static List<String> standIn(String... args) {
    List<String> command = new java.util.ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), ServerStandIn.class.getName()));
    command.addAll(List.of(args));
    return command;
  }
}
