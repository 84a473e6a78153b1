#include "fd_passing.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <sys/socket.h>

namespace lon::link {

std::error_code send_fd(int channel, int fd, std::string_view data) {
    if (data.empty() || data.size() > max_handoff_bytes) {
        return std::make_error_code(std::errc::message_size);
    }
    msghdr msg{};
    iovec iov{const_cast<char*>(data.data()), data.size()};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    ssize_t n;
    do {
        n = ::sendmsg(channel, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return {errno, std::system_category()};
    }
    return {};
}

std::optional<Handoff> receive_fd(int channel, std::error_code& ec) {
    std::vector<char> buf(max_handoff_bytes);
    msghdr msg{};
    iovec iov{buf.data(), buf.size()};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(channel, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        ec = {errno, std::system_category()};
        return std::nullopt;
    }
    ec.clear();
    if (n == 0) {
        return std::nullopt;
    }
    Handoff h;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            h.fd.reset(fd);
        }
    }
    if (!h.fd || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
        ec = std::make_error_code(std::errc::bad_message);
        return std::nullopt;
    }
    h.data.assign(buf.data(), static_cast<std::size_t>(n));
    return h;
}

} // namespace lon::link
