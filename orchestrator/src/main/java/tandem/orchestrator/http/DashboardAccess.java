package tandem.orchestrator.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.pathSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.redirect;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeader;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Cookie;
import org.apache.pekko.http.javadsl.model.headers.HttpCookie;
import org.apache.pekko.http.javadsl.model.headers.HttpCookiePair;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.headers.SameSite;
import org.apache.pekko.http.javadsl.model.headers.SetCookie;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The dashboard's authentication: with a token (the gRPC port's, {@code --token-file} or
 * {@code TANDEM_TOKEN}), every request must carry it, as {@code Authorization: Bearer TOKEN}
 * (Prometheus, scripts) or in the {@code tandem_token} cookie, which {@code /?token=TOKEN} sets
 * once for a browser (HttpOnly, SameSite=Strict: scripts cannot read it and other sites' pages
 * cannot send it) before redirecting to {@code /}. Tokens are compared in constant time. Without a
 * token everything is open, as the gRPC port is. Thread-safe (immutable).
 */
final class DashboardAccess {

  static final String COOKIE = "tandem_token";

  private final byte[] token;

  /** @param token empty: no authentication */
  DashboardAccess(String token) {
    this.token = token.getBytes(StandardCharsets.UTF_8);
  }

  Route check(Supplier<Route> inner) {
    if (token.length == 0) {
      return inner.get();
    }
    return extractRequest(request -> {
      if (presented(request)) {
        return inner.get();
      }
      return pathSingleSlash(() -> parameterOptional("token", given -> given.filter(this::matches)
          .map(ok -> respondWithHeader(SetCookie.create(HttpCookie.create(COOKIE,
                  new String(token, StandardCharsets.UTF_8)).withHttpOnly(true).withPath("/")
                  .withSameSite(SameSite.Strict)),
              () -> redirect(org.apache.pekko.http.javadsl.model.Uri.create("/"),
                  StatusCodes.SEE_OTHER)))
          .orElseGet(DashboardAccess::refuse)))
          .orElse(refuse());
    });
  }

  private boolean presented(HttpRequest request) {
    Optional<HttpHeader> authorization = request.getHeader("Authorization");
    if (authorization.isPresent() && authorization.get().value().startsWith("Bearer ")
        && matches(authorization.get().value().substring("Bearer ".length()).strip())) {
      return true;
    }
    return request.getHeader(Cookie.class).map(header -> {
      for (HttpCookiePair cookie : header.getCookies()) {
        if (cookie.name().equals(COOKIE) && matches(cookie.value())) {
          return true;
        }
      }
      return false;
    }).orElse(false);
  }

  private boolean matches(String given) {
    return MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8));
  }

  private static Route refuse() {
    return respondWithHeader(RawHeader.create("WWW-Authenticate", "Bearer realm=\"tandem\""),
        () -> complete(StatusCodes.UNAUTHORIZED, "this server needs its token: open "
            + "/?token=TOKEN once in the browser, or send Authorization: Bearer TOKEN"));
  }
}
